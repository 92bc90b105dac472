"""View decorators: a logged-in user with a chosen profile holding the right."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from nnrr.accounts.profiles import Right

View = Callable[..., HttpResponse]


def profile_required(right: Right | None = None) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse(settings.LOGIN_URL)}?{query}")
            profile = getattr(request, "profile", None)
            if profile is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('accounts:choose_profile')}?{query}")
            if right is not None and not profile.has(right):
                raise PermissionDenied(_("Din rolle gir ikke tilgang til denne funksjonen."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
