"""Login (the demo Test IDP; eID by OpenID Connect later), profile choice and logout."""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from nnrr.accounts.forms import EGIL_LARSEN, ChooseProfileForm, TestIdpForm
from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.accounts.models import Identity
from nnrr.accounts.profiles import PROFILE_SESSION_KEY, Profile, active_memberships
from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.lib.redirects import next_from


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    return next_from(request, default)


def login_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("patients:front")
    from nnrr.accounts.oidc import configured_providers

    return render(
        request,
        "accounts/login.html",
        {"next": _safe_next(request, ""), "providers": configured_providers()},
    )


def _testidp_allowlist() -> set[str]:
    raw = os.environ.get("NNRR_TESTIDP_ALLOWLIST", EGIL_LARSEN)
    return {part.strip() for part in raw.split(",") if part.strip()}


@require_http_methods(["GET", "POST"])
def test_idp(request: HttpRequest) -> HttpResponse:
    """The demo environment's "Test IDP": type a test person's fødselsnummer to log in."""
    if not settings.DEMO:
        raise Http404
    form = TestIdpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        nid = form.cleaned_data["national_id"]
        if nid.kind != "synthetic" and nid.value not in _testidp_allowlist():
            form.add_error(
                "national_id", _("Test IDP godtar bare testbrukere og syntetiske testnummer.")
            )
        else:
            user = authenticate(request, provider=Identity.Provider.IDPORTEN, subject=nid.value)
            if user is None:
                record_event(
                    actor=Actor.from_request(request),
                    action="nnrr.login.unknown_identity",
                    outcome=Outcome.DENIED,
                )
                form.add_error(
                    "national_id",
                    _("Ingen bruker i registeret har dette fødselsnummeret. Søk om tilgang først."),
                )
            else:
                with transaction.atomic():
                    login(request, user)
                    request.session[LOGIN_TIME_SESSION_KEY] = time.time()
                    Identity.objects.filter(
                        provider=Identity.Provider.IDPORTEN, subject=nid.value
                    ).update(last_login_at=timezone.now())
                    record_event(
                        actor=Actor.from_request(request),
                        action="nnrr.login.succeeded",
                        detail={"provider": "testidp"},
                    )
                if not active_memberships().filter(user=user).exists():
                    return redirect("accounts:apply")
                query = urlencode({"next": _safe_next(request, "/")})
                return redirect(f"{reverse('accounts:choose_profile')}?{query}")
    return render(
        request,
        "accounts/testidp.html",
        {"form": form, "next": _safe_next(request, ""), "test_users": _test_users()},
    )


def _test_users() -> list[dict[str, str]]:
    """The demo users with their profiles, listed on the Test IDP page for convenience."""
    users = []
    for identity in (
        Identity.objects.select_related("user")
        .filter(provider=Identity.Provider.IDPORTEN)
        .prefetch_related("user__memberships__unit")
        .order_by("user__full_name")[:30]
    ):
        profiles = ", ".join(str(m) for m in identity.user.memberships.all())
        users.append(
            {
                "national_id": identity.subject,
                "name": str(identity.user),
                "profiles": profiles or _("Ingen roller ennå – kan søke om tilgang"),
            }
        )
    return users


@require_http_methods(["GET", "POST"])
def choose_profile(request: HttpRequest) -> HttpResponse:
    """ "Velg profil": the user's (role, unit) profiles; everything after is scoped to one."""
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    memberships = list(
        active_memberships()
        .select_related("unit")
        .filter(user_id=request.user.pk)
        .order_by("unit__name", "role")
    )
    chosen = None
    if request.method == "GET" and len(memberships) == 1:
        # Nothing to choose between: the one profile is taken, and «Velg profil» is skipped.
        chosen = memberships[0]
    elif request.method == "POST":
        form = ChooseProfileForm(request.POST)
        if form.is_valid():
            chosen = next((m for m in memberships if m.pk == form.cleaned_data["membership"]), None)
        if chosen is None:
            messages.error(request, _("Velg en av profilene i listen."))
    if chosen is not None:
        request.session[PROFILE_SESSION_KEY] = chosen.pk
        request.profile = Profile.from_membership(chosen)  # type: ignore[attr-defined]
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.profile.chosen",
            detail={"role": chosen.role, "unit": chosen.unit_id},
        )
        return redirect(_safe_next(request, "/"))
    if len(memberships) == 0:
        messages.warning(request, _("Du har ingen tilganger i registeret ennå."))
    return render(
        request,
        "accounts/choose_profile.html",
        {"memberships": memberships, "next": _safe_next(request, "")},
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """End the local session, and the provider's session too when the login was by eID."""
    from nnrr.accounts.oidc import LOGOUT_SESSION_KEY
    from nnrr.accounts.oidc_views import end_session_redirect

    eid_session = request.session.get(LOGOUT_SESSION_KEY)
    if request.user.is_authenticated:
        record_event(actor=Actor.from_request(request), action="nnrr.logout")
    logout(request)
    messages.success(request, _("Du er logget ut."))
    provider_logout = end_session_redirect(request, eid_session)
    if provider_logout:
        # A form may only post to this site (CSP form-action), redirects included: the browser is
        # sent on to the provider from a page of ours instead.
        request.session[END_SESSION_KEY] = provider_logout
        return redirect("accounts:logged_out")
    return redirect(settings.LOGIN_URL)


END_SESSION_KEY = "nnrr_end_session_url"


def logged_out(request: HttpRequest) -> HttpResponse:
    """After an eID logout: on to the provider's end-session endpoint."""
    url = request.session.pop(END_SESSION_KEY, "")
    if not url:
        return redirect(settings.LOGIN_URL)
    return render(request, "accounts/logged_out.html", {"end_session_url": url})
