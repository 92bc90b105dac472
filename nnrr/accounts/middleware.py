"""Attach the active profile to each request and end sessions that have lived too long."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from nnrr.accounts.profiles import Profile, load_profile
from nnrr.lib.scopes import no_scope, unit_scope

LOGIN_TIME_SESSION_KEY = "nnrr_login_at"
TOUCHED_SESSION_KEY = "nnrr_touched_at"


class SessionTimeoutMiddleware:
    """Absolute session timeout, and the idle timeout (the session's age) pushed forward by
    activity at most once a minute instead of a database write on every request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.get(LOGIN_TIME_SESSION_KEY)
            if started is None or now - float(started) > settings.SESSION_ABSOLUTE_TIMEOUT:
                logout(request)
                messages.info(
                    request, _("Du er logget ut fordi økten var for gammel. Logg inn på nytt.")
                )
                return redirect(settings.LOGIN_URL)
            touched = float(request.session.get(TOUCHED_SESSION_KEY, 0))
            if now - touched > settings.SESSION_TOUCH_SECONDS:
                request.session[TOUCHED_SESSION_KEY] = now  # saved: the idle expiry moves on
        return self.get_response(request)


class ProfileMiddleware:
    """The active profile on ``request.profile``, and the request run in its unit scope
    (``nnrr.lib.scopes``; docs/decisions/0024). A request starts with no scope, whatever the
    thread did before: without a profile (the portal, the FHIR API, the login pages) a query on
    patient data raises until the view opens the scope of what it serves. A streamed response's
    body is produced in the same scope."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with no_scope():
            profile = load_profile(request)
            request.profile = profile  # type: ignore[attr-defined]
            if profile is None:
                return self.get_response(request)
            with unit_scope(profile):
                response = self.get_response(request)
                if response.streaming:
                    content = response.streaming_content  # type: ignore[attr-defined]
                    response.streaming_content = _in_scope(profile, content)  # type: ignore[attr-defined]
                return response


def _in_scope(profile: Profile, content: Iterable[Any]) -> Iterator[Any]:
    with unit_scope(profile):
        yield from content
