"""Attach the active profile to each request and end sessions that have lived too long."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from nnrr.accounts.profiles import load_profile

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
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.profile = load_profile(request)  # type: ignore[attr-defined]
        return self.get_response(request)
