"""The eID login views: start at the provider, come back, bind the account, or refuse clearly."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from nnrr.accounts import oidc
from nnrr.accounts.binding import BindingError, bind
from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.accounts.profiles import active_memberships
from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event


def _next_path(request: HttpRequest) -> str:
    target = request.GET.get("next") or ""
    allowed = target and url_has_allowed_host_and_scheme(target, {request.get_host()}, False)
    if allowed and target.startswith("/") and not target.startswith("//"):
        return target
    return ""


def _config(provider: str) -> oidc.ProviderConfig:
    config = oidc.provider_config(provider)
    if config is None:
        raise Http404
    return config


def _callback_uri(request: HttpRequest, provider: str) -> str:
    return request.build_absolute_uri(reverse("accounts:oidc_callback", args=[provider]))


def _refused(request: HttpRequest, provider: str, refusal: oidc.LoginRefused) -> HttpResponse:
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.login.refused",
        outcome=Outcome.DENIED,
        detail={"provider": provider, "reason": refusal.reason},
    )
    return render(
        request,
        "accounts/login_refused.html",
        {"message": refusal.message, "provider": oidc.PROVIDER_LABELS.get(provider, "")},
        status=403,
    )


def oidc_start(request: HttpRequest, provider: str) -> HttpResponse:
    """Send the person to HelseID or ID-porten."""
    config = _config(provider)
    try:
        url = oidc.start(
            config, request.session, _callback_uri(request, provider), _next_path(request)
        )
    except oidc.LoginRefused as refusal:
        return _refused(request, provider, refusal)
    return redirect(url)


def oidc_callback(request: HttpRequest, provider: str) -> HttpResponse:
    """The provider sends the person back here with a code (or an error)."""
    config = _config(provider)
    params = {k: request.GET.get(k, "") for k in ("state", "code", "error")}
    try:
        verified = oidc.finish(config, request.session, _callback_uri(request, provider), params)
    except oidc.LoginRefused as refusal:
        return _refused(request, provider, refusal)
    try:
        user, created = bind(verified)
    except BindingError:
        return _refused(
            request,
            provider,
            oidc.LoginRefused(
                "binding_refused",
                _("Innloggingen kan ikke knyttes til en bruker i registeret. Kontakt registeret."),
            ),
        )
    login(request, user, backend="nnrr.accounts.backends.IdentityBackend")
    request.session[LOGIN_TIME_SESSION_KEY] = time.time()
    request.session[oidc.LOGOUT_SESSION_KEY] = {"provider": provider, "id_token": verified.id_token}
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.login.succeeded",
        detail={"provider": provider, "acr": verified.acr, "new_account": created},
    )
    if not active_memberships().filter(user=user).exists():
        return redirect("accounts:apply")
    query = urlencode({"next": verified.next_url or "/"})
    return redirect(f"{reverse('accounts:choose_profile')}?{query}")


def end_session_redirect(request: HttpRequest, session_data: dict[str, str] | None) -> str:
    """Where to send the browser after the local logout: the provider's end-session endpoint,
    when the person logged in with eID, else ""."""
    if not session_data:
        return ""
    config = oidc.provider_config(session_data.get("provider", ""))
    if config is None:
        return ""
    return oidc.end_session_url(
        config,
        session_data.get("id_token", ""),
        request.build_absolute_uri(reverse("accounts:login")),
    )
