"""Test IDP, profile choice, logout and session timeouts."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
from nnrr.accounts.models import Identity, Membership
from nnrr.accounts.profiles import PROFILE_SESSION_KEY
from nnrr.audit.models import AuditEvent
from nnrr.demo.loader import ensure_users

EGIL = "24019491117"


@pytest.fixture
def demo_users(db: Any) -> None:
    ensure_users()


def test_test_idp_prefills_the_manuals_test_user(client: Client, demo_users: None) -> None:
    page = client.get(reverse("accounts:test_idp"))
    assert page.status_code == 200
    assert f'value="{EGIL}"' in page.content.decode()


@override_settings(DEMO=False)
def test_test_idp_does_not_exist_outside_demo_mode(client: Client, demo_users: None) -> None:
    assert client.get(reverse("accounts:test_idp")).status_code == 404
    assert client.post(reverse("accounts:test_idp"), {"national_id": EGIL}).status_code == 404


def test_login_as_egil_larsen_offers_his_three_profiles(client: Client, demo_users: None) -> None:
    response = client.post(reverse("accounts:test_idp"), {"national_id": EGIL}, follow=True)
    html = response.content.decode()
    assert "Velg profil" in html
    assert "Pasientansvarlig ved St. Olavs hospital HF" in html
    assert "Lokal registeransvarlig ved St. Olavs hospital HF" in html
    assert "Pasientansvarlig ved Helse Bergen HF, Haukeland universitetssjukehus" in html
    assert AuditEvent.objects.filter(action="nnrr.login.succeeded").count() == 1


def test_choosing_a_profile_scopes_the_session_and_reaches_the_front_page(
    client: Client, demo_users: None
) -> None:
    client.post(reverse("accounts:test_idp"), {"national_id": EGIL})
    membership = Membership.objects.get(
        user__identities__subject=EGIL, unit_id=104293, role="pasientansvarlig"
    )
    response = client.post(
        reverse("accounts:choose_profile"), {"membership": membership.pk}, follow=True
    )
    assert response.status_code == 200
    assert client.session[PROFILE_SESSION_KEY] == membership.pk
    assert "St. Olavs hospital HF" in response.content.decode()


def test_a_profile_of_another_user_cannot_be_chosen(
    client: Client, demo_users: None, persona: Any
) -> None:
    other = persona("haukeland_clinician")
    client.post(reverse("accounts:test_idp"), {"national_id": EGIL})
    response = client.post(
        reverse("accounts:choose_profile"), {"membership": other.membership.pk}, follow=True
    )
    assert PROFILE_SESSION_KEY not in client.session
    assert "Velg en av profilene" in response.content.decode()


def test_login_rotates_the_session_id(client: Client, demo_users: None) -> None:
    client.get(reverse("accounts:test_idp"))
    client.session.save()
    before = client.session.session_key
    client.post(reverse("accounts:test_idp"), {"national_id": EGIL})
    assert client.session.session_key != before


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("2401949111", "11 siffer"),
        ("24019491118", "Andre kontrollsiffer"),
        ("24019491127", "Første kontrollsiffer"),
        ("abc", "bare inneholde siffer"),
    ],
)
def test_bad_numbers_get_a_clear_message(
    client: Client, demo_users: None, number: str, message: str
) -> None:
    response = client.post(reverse("accounts:test_idp"), {"national_id": number})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_unknown_person_is_told_to_apply_for_access(client: Client, demo_users: None) -> None:
    import datetime as dt
    import random

    from nnrr.demo.people import synthetic_id

    stranger = synthetic_id(random.Random(5), dt.date(1970, 2, 2), "M")
    response = client.post(reverse("accounts:test_idp"), {"national_id": stranger})
    assert "Søk om tilgang" in response.content.decode()
    assert AuditEvent.objects.filter(
        action="nnrr.login.unknown_identity", outcome="denied"
    ).exists()


def test_a_real_person_outside_the_allow_list_is_refused(client: Client, demo_users: None) -> None:
    # 15108695088 is a valid (non-synthetic) number from python-stdnum's documentation.
    response = client.post(reverse("accounts:test_idp"), {"national_id": "15108695088"})
    assert "bare testbrukere" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_accounts_bind_to_identity_not_email(db: Any, persona: Any) -> None:
    who = persona("clinician")
    who.user.email = "shared@example.no"
    who.user.save()
    from django.contrib.auth import authenticate

    assert authenticate(None, provider="idporten", subject="shared@example.no") is None
    identity = Identity.objects.get(user=who.user)
    assert authenticate(None, provider="idporten", subject=identity.subject) == who.user


def test_logout_from_the_person_menu(as_persona: Any) -> None:
    client = as_persona("clinician")
    response = client.post(reverse("accounts:logout"), follow=True)
    assert "Du er logget ut" in response.content.decode()
    assert client.get(reverse("patients:front")).status_code == 302


def test_logout_needs_post(as_persona: Any) -> None:
    client = as_persona("clinician")
    assert client.get(reverse("accounts:logout")).status_code == 405


def test_session_older_than_the_absolute_timeout_is_ended(as_persona: Any) -> None:
    client = as_persona("clinician")
    session = client.session
    session[LOGIN_TIME_SESSION_KEY] = time.time() - 11 * 3600
    session.save()
    response = client.get(reverse("patients:front"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_idle_timeout_is_thirty_minutes_and_cookies_are_safe(settings: Any) -> None:
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_TOUCH_SECONDS <= 60  # activity extends the session to the minute
    assert settings.SESSION_COOKIE_HTTPONLY
    assert settings.SESSION_COOKIE_SAMESITE == "Lax"


def test_pages_without_a_profile_send_the_user_to_choose_one(persona: Any) -> None:
    who = persona("clinician")
    client = Client()
    client.force_login(who.user, backend="nnrr.accounts.backends.IdentityBackend")
    session = client.session
    session[LOGIN_TIME_SESSION_KEY] = time.time()
    session.save()
    response = client.get(reverse("patients:front"))
    assert response.status_code == 302
    assert reverse("accounts:choose_profile") in response["Location"]


def test_anonymous_users_are_sent_to_login(client: Client, db: Any) -> None:
    response = client.get(reverse("patients:front"))
    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


def test_responses_carry_a_content_security_policy_without_inline_scripts(as_persona: Any) -> None:
    response = as_persona("clinician").get(reverse("patients:front"))
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.content.decode()


def test_activity_pushes_the_idle_expiry_forward(as_persona: Any) -> None:
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from nnrr.accounts.middleware import TOUCHED_SESSION_KEY

    client = as_persona("clinician")
    session = client.session
    session[TOUCHED_SESSION_KEY] = time.time() - 120
    session.save()
    key = session.session_key
    soon = timezone.now() + dt.timedelta(minutes=5)
    Session.objects.filter(session_key=key).update(expire_date=soon)
    assert client.get(reverse("patients:front")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date > soon + dt.timedelta(minutes=20)
