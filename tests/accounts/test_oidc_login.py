"""eID login over OpenID Connect against a real local provider, through Django's test client.

The whole redirect flow runs: our login URL → the provider's authorization endpoint (where the
test "logs in" as a subject) → our callback → token request (PKCE verifier and client
authentication checked by the provider) → ID token verified against the provider's JWKS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from joserfc import jws

from nnrr.accounts import oidc
from nnrr.accounts.models import Identity, User
from nnrr.audit.models import AuditEvent
from tests.accounts.oidc_provider import (
    CLIENT_ID,
    CLIENT_SECRET,
    NEXT_ROTATED_KEY,
    ROTATED_KEY,
    Provider,
    start_provider,
)
from tests.conftest import Persona

ACR_HIGH = "idporten-loa-high"


@pytest.fixture(scope="module")
def provider_server() -> Iterator[Provider]:
    yield from start_provider()


@pytest.fixture
def provider(provider_server: Provider, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Provider:
    """ID-porten configured against the local provider, with private_key_jwt."""
    provider_server.tamper = ""
    provider_server.rotated_key = None
    provider_server.token_requests.clear()
    provider_server.jwks_requests = 0
    provider_server.discovery_requests = 0
    key_file = tmp_path / "client-key.json"
    key_file.write_text(json.dumps(provider_server.client_key.as_dict(private=True)))
    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", provider_server.url)
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.delenv("NNRR_IDPORTEN_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("NNRR_IDPORTEN_ACR_VALUES", raising=False)
    monkeypatch.delenv("NNRR_HELSEID_ISSUER", raising=False)
    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH_SECONDS", 0)
    oidc.clear_cache()
    return provider_server


def national_id_of(who: Persona) -> str:
    return Identity.objects.get(user=who.user, issuer="").subject


def eid_login(
    client: Client, provider: Provider, sub: str, *, name: str = "", provider_name: str = "idporten"
) -> Any:
    start = client.get(reverse("accounts:oidc_start", args=[provider_name]))
    assert start.status_code == 302, start.content[:300]
    assert start["Location"].startswith(provider.url)
    callback = provider.authorize(start["Location"], sub)
    return client.get(callback)


def assertion_header(provider: Provider, name: str) -> str:
    """A header of the client assertion in the last token request (its "alg", its "kid")."""
    assertion = provider.token_requests[-1]["client_assertion"]
    return str(jws.extract_compact(assertion.encode()).protected[name])


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_the_login_page_offers_a_provider_exactly_when_its_issuer_is_set(
    client: Client, provider: Provider, monkeypatch: pytest.MonkeyPatch, db: Any
) -> None:
    html = client.get(reverse("accounts:login")).content.decode()
    assert "Logg inn med ID-porten" in html
    assert "Logg inn med HelseID" not in html
    assert "Test IDP" in html  # demo mode: beside the Test IDP
    monkeypatch.delenv("NNRR_IDPORTEN_ISSUER")
    html = client.get(reverse("accounts:login")).content.decode()
    assert "Logg inn med ID-porten" not in html
    assert client.get(reverse("accounts:oidc_start", args=["idporten"])).status_code == 404


def test_a_known_person_logs_in_with_id_porten_and_is_bound_to_the_subject(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("pairwise-sub-1", pid=national_id_of(clinician), acr=ACR_HIGH, name="Kari B")
    response = eid_login(client, provider, "pairwise-sub-1")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:choose_profile"))
    assert logged_in(client) and int(client.session["_auth_user_id"]) == clinician.user.pk
    identity = Identity.objects.get(issuer=provider.url, subject="pairwise-sub-1")
    assert identity.user == clinician.user and identity.provider == "idporten"
    # The provider saw a PKCE verifier and a signed client assertion, never a secret.
    request = provider.token_requests[-1]
    assert request["code_verifier"] and request["client_assertion"]
    # Signed with the EC key the client registered, named by the key id in its JWK.
    assert assertion_header(provider, "alg") == "ES256"
    assert assertion_header(provider, "kid") == "nnrr-client-key"
    assert "client_secret" not in request and not request["authorization"]
    event = AuditEvent.objects.get(action="nnrr.login.succeeded")
    assert event.actor == clinician.user and event.detail["provider"] == "idporten"
    assert event.detail["acr"] == ACR_HIGH  # the level logged in with, in the audit trail
    # The person's one profile is then taken without asking.
    page = client.get(response["Location"], follow=True).content.decode()
    assert '<h1 class="ds-heading" data-size="lg">St. Olavs hospital HF</h1>' in page


def test_after_an_eid_login_the_person_goes_on_to_the_page_asked_for(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-next", pid=national_id_of(clinician), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]) + "?next=/rapporter/")
    response = client.get(provider.authorize(start["Location"], "sub-next"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:choose_profile") + "?next=%2Frapporter%2F"


def test_an_assurance_level_is_recognised_whatever_its_letter_case(
    client: Client, provider: Provider, persona: Any
) -> None:
    """HelseID and ID-porten's older names are written "Level4"; the table has them as level4."""
    provider.add_user("sub-level4", pid=national_id_of(persona("clinician")), acr="Level4")
    response = eid_login(client, provider, "sub-level4")
    assert response.status_code == 302 and logged_in(client)


def test_the_second_login_uses_the_subject_even_if_the_number_record_changed(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-2", pid=national_id_of(clinician), acr=ACR_HIGH)
    eid_login(client, provider, "sub-2")
    client.logout()
    Identity.objects.filter(user=clinician.user, issuer="").delete()
    User.objects.filter(pk=clinician.user.pk).update(national_id=None)
    eid_login(client, provider, "sub-2")
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_the_authorization_request_carries_pkce_state_nonce_and_acr(
    client: Client, provider: Provider, db: Any
) -> None:
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["acr_values"] == [ACR_HIGH]
    assert query["state"][0] and query["nonce"][0] and query["code_challenge"][0]
    assert query["scope"] == ["openid profile"]


def test_every_level_asked_for_is_in_the_authorization_request(
    client: Client, provider: Provider, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNRR_IDPORTEN_ACR_VALUES", "idporten-loa-substantial idporten-loa-high")
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    query = parse_qs(urlsplit(start["Location"]).query)
    assert query["acr_values"] == ["idporten-loa-substantial idporten-loa-high"]


def test_after_the_login_the_person_goes_on_to_the_page_they_asked_for(
    client: Client, provider: Provider, persona: Any
) -> None:
    provider.add_user("sub-next", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    reports = reverse("reports:index")
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]), {"next": reports})
    response = client.get(provider.authorize(start["Location"], "sub-next"))
    query = parse_qs(urlsplit(response["Location"]).query)
    assert urlsplit(response["Location"]).path == reverse("accounts:choose_profile")
    assert query == {"next": [reports]}
    client.logout()
    # Nothing asked for: the front page.
    response = eid_login(client, provider, "sub-next")
    assert parse_qs(urlsplit(response["Location"]).query) == {"next": ["/"]}


def test_only_the_five_latest_logins_started_in_one_browser_stay_pending(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-six-tabs", pid=national_id_of(clinician), acr=ACR_HIGH)
    callbacks = [
        provider.authorize(
            client.get(reverse("accounts:oidc_start", args=["idporten"]))["Location"],
            "sub-six-tabs",
        )
        for _ in range(6)
    ]
    # The sixth start forgot the first; the second is still there.
    response = client.get(callbacks[0])
    assert response.status_code == 403 and refusal_reason() == "state_mismatch"
    assert client.get(callbacks[1]).status_code == 302
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_id_porten_with_a_client_secret(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", CLIENT_SECRET)
    clinician = persona("clinician")
    provider.add_user("sub-secret", pid=national_id_of(clinician), acr=ACR_HIGH)
    eid_login(client, provider, "sub-secret")
    assert logged_in(client)
    assert provider.token_requests[-1]["authorization"].startswith("Basic ")
    assert "client_secret" not in provider.token_requests[-1]
    # Registered for client_secret_post: the secret goes in the form, not in a header.
    client.logout()
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_AUTH_METHOD", "client_secret_post")
    eid_login(client, provider, "sub-secret")
    assert logged_in(client)
    assert provider.token_requests[-1]["client_secret"] == CLIENT_SECRET
    assert not provider.token_requests[-1]["authorization"]


def test_a_wrong_client_secret_is_refused(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", "not-the-secret")
    provider.add_user("sub-bad-secret", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    response = eid_login(client, provider, "sub-bad-secret")
    assert response.status_code == 403 and not logged_in(client)


def test_helseid_with_its_own_pid_and_security_level_claims(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # An RSA key in PEM here (the other tests' key is an EC key in JWK form).
    key_file = tmp_path / "helseid.pem"
    key_file.write_bytes(provider.rsa_client_key.as_pem(private=True))
    monkeypatch.setenv("NNRR_HELSEID_ISSUER", provider.url)
    monkeypatch.setenv("NNRR_HELSEID_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("NNRR_HELSEID_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("NNRR_HELSEID_KEY_ID", "helseid-nokkel-1")
    monkeypatch.setenv("NNRR_HELSEID_SCOPES", "openid profile")
    clinician = persona("clinician")
    provider.add_user(
        "helseid-sub",
        **{
            "helseid://claims/identity/pid": national_id_of(clinician),
            "helseid://claims/identity/security_level": "4",
        },
    )
    assert "Logg inn med HelseID" in client.get(reverse("accounts:login")).content.decode()
    eid_login(client, provider, "helseid-sub", provider_name="helseid")
    assert int(client.session["_auth_user_id"]) == clinician.user.pk
    assert assertion_header(provider, "alg") == "RS256"
    assert assertion_header(provider, "kid") == "helseid-nokkel-1"  # NNRR_HELSEID_KEY_ID
    assert Identity.objects.filter(provider="helseid", subject="helseid-sub").exists()


@pytest.mark.parametrize(
    ("tamper", "reason", "message"),
    [
        ("bad_signature", "bad_signature", "Innloggingen kunne ikke bekreftes (ugyldig signatur)."),
        (
            "wrong_audience",
            "wrong_audience",
            "Innloggingen var ment for en annen tjeneste og godtas ikke.",
        ),
        ("expired", "expired_token", "Innloggingen var utløpt. Logg inn på nytt."),
        (
            "stale_nonce",
            "nonce_mismatch",
            "Innloggingen kunne ikke bekreftes (gjenbrukt svar). Logg inn på nytt.",
        ),
        ("wrong_issuer", "bad_claims", "Innloggingen kunne ikke bekreftes."),
        (
            "two_audiences_no_party",
            "wrong_audience",
            "Innloggingen var ment for en annen tjeneste og godtas ikke.",
        ),
        (
            "two_audiences_authorised_party_another",
            "wrong_audience",
            "Innloggingen var ment for en annen tjeneste og godtas ikke.",
        ),
    ],
)
def test_a_bad_id_token_is_refused_with_a_clear_page(
    client: Client, provider: Provider, persona: Any, tamper: str, reason: str, message: str
) -> None:
    provider.add_user("sub-" + tamper, pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = tamper
    response = eid_login(client, provider, "sub-" + tamper)
    assert response.status_code == 403
    assert shown_refusal(response) == message
    assert not logged_in(client)
    assert not Identity.objects.filter(subject="sub-" + tamper).exists()
    assert AuditEvent.objects.get(action="nnrr.login.refused").detail["reason"] == reason


def test_a_state_that_does_not_match_is_refused(
    client: Client, provider: Provider, persona: Any
) -> None:
    provider.add_user("sub-state", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-state")
    forged = callback.replace("state=", "state=x")
    response = client.get(forged)
    assert response.status_code == 403 and not logged_in(client)
    assert "nettleserøkten" in response.content.decode()
    # Another browser (no pending login) cannot use the callback either.
    assert Client().get(callback).status_code == 403


def test_a_replayed_callback_is_refused(client: Client, provider: Provider, persona: Any) -> None:
    provider.add_user("sub-replay", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-replay")
    assert client.get(callback).status_code == 302
    client.logout()
    again = client.get(callback)
    assert again.status_code == 403 and not logged_in(client)


def test_too_low_assurance_is_refused(client: Client, provider: Provider, persona: Any) -> None:
    provider.add_user(
        "sub-low", pid=national_id_of(persona("clinician")), acr="idporten-loa-substantial"
    )
    response = eid_login(client, provider, "sub-low")
    assert response.status_code == 403 and not logged_in(client)
    assert "for lavt sikkerhetsnivå" in response.content.decode()


def test_an_unknown_person_gets_an_account_without_roles_and_is_sent_to_apply(
    client: Client, provider: Provider, db: Any
) -> None:
    import datetime as dt
    import random

    from nnrr.demo.people import synthetic_id

    number = synthetic_id(random.Random(7), dt.date(1990, 3, 3), "F")
    provider.add_user("sub-new", pid=number, acr=ACR_HIGH, name="Nina Ny")
    response = eid_login(client, provider, "sub-new")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:apply")
    user = User.objects.get(national_id=number)
    assert user.full_name == "Nina Ny" and not user.memberships.exists()
    assert "Søk om tilgang" in client.get(response["Location"]).content.decode()


def test_an_account_is_never_bound_by_e_mail(
    client: Client, provider: Provider, persona: Any, db: Any
) -> None:
    import datetime as dt
    import random

    from nnrr.demo.people import synthetic_id

    clinician = persona("clinician")
    User.objects.filter(pk=clinician.user.pk).update(email="kari@example.no")
    number = synthetic_id(random.Random(11), dt.date(1985, 4, 4), "F")
    provider.add_user("sub-mail", pid=number, acr=ACR_HIGH, email="kari@example.no", name="Kari B")
    eid_login(client, provider, "sub-mail")
    assert int(client.session["_auth_user_id"]) != clinician.user.pk
    assert not Identity.objects.filter(user=clinician.user, subject="sub-mail").exists()


def test_a_new_signing_key_is_fetched_when_the_token_names_an_unknown_key(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-rotate", pid=national_id_of(clinician), acr=ACR_HIGH)
    eid_login(client, provider, "sub-rotate")
    client.logout()
    fetched = provider.jwks_requests
    provider.rotated_key = ROTATED_KEY
    provider.tamper = "rotate"
    eid_login(client, provider, "sub-rotate")
    assert logged_in(client)
    assert provider.jwks_requests == fetched + 1  # cached before, fetched again for the new kid


def test_logout_ends_the_session_here_and_at_the_provider(
    client: Client, provider: Provider, persona: Any
) -> None:
    provider.add_user("sub-out", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    eid_login(client, provider, "sub-out")
    response = client.post(reverse("accounts:logout"), follow=True)
    assert not logged_in(client)
    html = response.content.decode()
    assert "Du er logget ut" in html
    link = html.split('http-equiv="refresh" content="0;url=', 1)[1].split('"', 1)[0]
    target = urlsplit(link.replace("&amp;", "&"))
    assert f"{target.scheme}://{target.netloc}" == provider.url
    query = parse_qs(target.query)
    assert query["id_token_hint"][0].count(".") == 2
    assert query["post_logout_redirect_uri"] == ["http://testserver" + reverse("accounts:login")]


def test_a_cancelled_login_at_the_provider_is_explained(
    client: Client, provider: Provider, db: Any
) -> None:
    import requests

    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    denied = requests.post(
        start["Location"], data={"action": "deny"}, allow_redirects=False, timeout=5
    )
    location = urlsplit(denied.headers["Location"])
    response = client.get(f"{location.path}?{location.query}")
    assert response.status_code == 403 and not logged_in(client)
    assert "avbrutt" in response.content.decode()


def test_configuration_mistakes_are_refused_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from django.test import override_settings

    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", "https://test.idporten.no")
    monkeypatch.delenv("NNRR_IDPORTEN_CLIENT_ID", raising=False)
    with pytest.raises(ImproperlyConfigured, match="CLIENT_ID"):
        oidc.provider_config("idporten")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_ID", "x")
    monkeypatch.delenv("NNRR_IDPORTEN_CLIENT_SECRET", raising=False)
    monkeypatch.delenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="PRIVATE_KEY_FILE or"):
        oidc.provider_config("idporten")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", "s")
    monkeypatch.setenv("NNRR_IDPORTEN_ACR_VALUES", "level9")
    with pytest.raises(ImproperlyConfigured, match="unknown levels"):
        oidc.provider_config("idporten")
    monkeypatch.setenv("NNRR_IDPORTEN_ACR_VALUES", "idporten-loa-substantial")
    assert oidc.provider_config("idporten").minimum_rank == 2  # type: ignore[union-attr]
    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", "http://idporten.example")
    with override_settings(PRODUCTION=True), pytest.raises(ImproperlyConfigured, match="https"):
        oidc.provider_config("idporten")


def test_the_number_is_read_from_userinfo_when_the_id_token_lacks_it(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-userinfo", pid=national_id_of(clinician), acr=ACR_HIGH)
    provider.tamper = "pid_only_in_userinfo"
    eid_login(client, provider, "sub-userinfo")
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_a_login_without_a_number_is_refused(client: Client, provider: Provider, db: Any) -> None:
    provider.add_user("sub-nopid", acr=ACR_HIGH, name="Uten Nummer")
    response = eid_login(client, provider, "sub-nopid")
    assert response.status_code == 403 and not logged_in(client)
    assert "fødselsnummeret" in response.content.decode()


def refusal_reason() -> str:
    return AuditEvent.objects.filter(action="nnrr.login.refused").latest("pk").detail["reason"]


def test_a_correctly_signed_id_token_naming_another_issuer_is_refused(
    client: Client, provider: Provider, persona: Any
) -> None:
    provider.add_user("sub-iss", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = "wrong_issuer"
    response = eid_login(client, provider, "sub-iss")
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "bad_claims"
    assert not Identity.objects.filter(subject="sub-iss").exists()


def test_the_userinfo_endpoint_is_not_asked_when_the_id_token_has_the_number_and_the_name(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-no-userinfo", pid=national_id_of(clinician), acr=ACR_HIGH, name="Kari")
    provider.tamper = "userinfo_down"  # asking it would refuse the login
    assert eid_login(client, provider, "sub-no-userinfo").status_code == 302, refusal_reason()
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_a_name_missing_from_the_id_token_is_taken_from_userinfo(
    client: Client, provider: Provider, db: Any
) -> None:
    import datetime as dt
    import random

    from nnrr.demo.people import synthetic_id

    number = synthetic_id(random.Random(13), dt.date(1979, 5, 5), "M")
    provider.add_user("sub-name-info", pid=number, acr=ACR_HIGH, name="Ola Info")
    provider.tamper = "name_only_in_userinfo"
    assert eid_login(client, provider, "sub-name-info").status_code == 302
    assert User.objects.get(national_id=number).full_name == "Ola Info"
    # Named nowhere: the account is made without a name.
    client.logout()
    nameless = synthetic_id(random.Random(17), dt.date(1981, 6, 6), "F")
    provider.add_user("sub-nameless", pid=nameless, acr=ACR_HIGH)
    assert eid_login(client, provider, "sub-nameless").status_code == 302
    assert User.objects.get(national_id=nameless).full_name == ""


def test_a_userinfo_answer_slower_than_the_timeout_refuses_the_login(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number is only in the userinfo answer, which comes after 3 s: with a 1.5 s timeout
    the login is refused instead of waiting."""
    monkeypatch.setattr(oidc, "HTTP_TIMEOUT", 1.5)
    provider.add_user("sub-slow-info", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = "userinfo_slow"
    response = eid_login(client, provider, "sub-slow-info")
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "userinfo_failed"


def test_a_userinfo_answer_for_another_subject_is_not_believed(
    client: Client, provider: Provider, persona: Any
) -> None:
    # The ID token carries no number; the userinfo answer has one, but for another subject.
    provider.add_user("sub-info-other", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = "userinfo_of_another_subject"
    response = eid_login(client, provider, "sub-info-other")
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "no_pid"
    assert "fødselsnummeret" in response.content.decode()


@pytest.mark.parametrize(
    "claims",
    [{}, {"acr": "level9"}, {"acr": "idporten-loa-low"}],
    ids=["no-acr", "unknown-acr", "low-acr"],
)
def test_a_token_without_a_known_high_assurance_level_is_refused_as_too_low(
    client: Client, provider: Provider, persona: Any, claims: dict[str, str]
) -> None:
    provider.add_user("sub-acr", pid=national_id_of(persona("clinician")), **claims)
    response = eid_login(client, provider, "sub-acr")
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "low_assurance"
    assert "for lavt sikkerhetsnivå" in response.content.decode()


def test_the_state_is_used_up_so_the_callback_cannot_be_replayed_in_the_same_session(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-same-session", pid=national_id_of(clinician), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-same-session")
    assert client.get(callback).status_code == 302 and logged_in(client)
    # No logout in between: the session still holds whatever the first callback left there.
    again = client.get(callback)
    assert again.status_code == 403
    assert refusal_reason() == "state_mismatch"  # refused here, not only by the provider
    assert len(provider.token_requests) == 1


def test_a_callback_to_another_provider_than_the_one_started_is_refused(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    key_file = tmp_path / "helseid.pem"
    key_file.write_bytes(provider.client_key.as_pem(private=True))
    monkeypatch.setenv("NNRR_HELSEID_ISSUER", provider.url)
    monkeypatch.setenv("NNRR_HELSEID_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("NNRR_HELSEID_PRIVATE_KEY_FILE", str(key_file))
    monkeypatch.setenv("NNRR_HELSEID_SCOPES", "openid profile")
    provider.add_user("sub-cross", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-cross")
    idporten_path = reverse("accounts:oidc_callback", args=["idporten"])
    helseid_path = reverse("accounts:oidc_callback", args=["helseid"])
    assert callback.startswith(idporten_path)
    response = client.get(callback.replace(idporten_path, helseid_path, 1))
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "state_mismatch"
    assert not provider.token_requests


def test_each_provider_is_configured_from_its_own_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.core.exceptions import ImproperlyConfigured

    for name in ("HELSEID", "IDPORTEN"):
        for key in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "PRIVATE_KEY_FILE", "KEY_ID", "SCOPES"):
            monkeypatch.delenv(f"NNRR_{name}_{key}", raising=False)
        monkeypatch.delenv(f"NNRR_{name}_ACR_VALUES", raising=False)
        monkeypatch.delenv(f"NNRR_{name}_CLIENT_AUTH_METHOD", raising=False)
    assert oidc.provider_config("unknown") is None
    assert oidc.provider_config("idporten") is None and oidc.configured_providers() == []
    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", "https://idporten.example/ ")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_ID", "klient")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", "hemmelig")
    monkeypatch.setenv("NNRR_IDPORTEN_SCOPES", "profile email")
    idporten = oidc.provider_config("idporten")
    assert idporten is not None
    assert idporten.issuer == "https://idporten.example"
    assert idporten.label == "ID-porten" and idporten.client_secret == "hemmelig"
    assert idporten.secret_method == "client_secret_basic"
    assert idporten.acr_values == ("idporten-loa-high",) and idporten.minimum_rank == 3
    assert idporten.scopes == ("openid", "profile", "email")  # openid always asked for
    assert idporten.pid_claims == ("pid",)
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_AUTH_METHOD", "client_secret_post")
    assert oidc.provider_config("idporten").secret_method == "client_secret_post"  # type: ignore[union-attr]
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_AUTH_METHOD", "none")
    with pytest.raises(ImproperlyConfigured, match="CLIENT_AUTH_METHOD"):
        oidc.provider_config("idporten")
    monkeypatch.delenv("NNRR_IDPORTEN_CLIENT_AUTH_METHOD")
    monkeypatch.setenv("NNRR_HELSEID_ISSUER", "https://helseid.example")
    monkeypatch.setenv("NNRR_HELSEID_CLIENT_ID", "klient")
    monkeypatch.setenv("NNRR_HELSEID_CLIENT_SECRET", "hemmelig")  # not used by HelseID
    with pytest.raises(ImproperlyConfigured, match="HELSEID_PRIVATE_KEY_FILE"):
        oidc.provider_config("helseid")
    monkeypatch.setenv("NNRR_HELSEID_PRIVATE_KEY_FILE", "/run/secrets/helseid.pem")
    monkeypatch.setenv("NNRR_HELSEID_KEY_ID", "nokkel-1")
    helseid = oidc.provider_config("helseid")
    assert helseid is not None
    assert helseid.client_secret == "" and helseid.private_key_file == "/run/secrets/helseid.pem"
    assert helseid.key_id == "nokkel-1" and helseid.label == "HelseID"
    assert helseid.acr_values == () and helseid.minimum_rank == 3
    assert helseid.scopes == (
        "openid",
        "profile",
        "helseid://scopes/identity/pid",
        "helseid://scopes/identity/security_level",
    )
    assert helseid.pid_claims == ("helseid://claims/identity/pid", "pid")
    assert [c.name for c in oidc.configured_providers()] == ["helseid", "idporten"]
    monkeypatch.setenv("NNRR_HELSEID_ACR_VALUES", "Level3 Level4")
    assert oidc.provider_config("helseid").minimum_rank == 2  # type: ignore[union-attr]


def test_logout_at_a_provider_without_an_end_session_endpoint_stays_here(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = oidc.provider_config("idporten")
    assert config is not None
    url = oidc.end_session_url(config, "a.b.c", "https://nnrr.example/logg-inn/")
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "id_token_hint": ["a.b.c"],
        "post_logout_redirect_uri": ["https://nnrr.example/logg-inn/"],
        "client_id": [CLIENT_ID],
    }
    meta = dict(oidc.metadata(config))
    meta.pop("end_session_endpoint", None)
    monkeypatch.setattr(oidc, "metadata", lambda _config: meta)
    assert oidc.end_session_url(config, "a.b.c", "https://nnrr.example/") == ""


def _config_with_key(path: Any) -> oidc.ProviderConfig:
    return oidc.ProviderConfig(
        name="helseid",
        label="HelseID",
        issuer="https://helseid.example",
        client_id=CLIENT_ID,
        private_key_file=str(path),
    )


def test_the_client_key_is_read_as_pem_or_jwk_rsa_or_ec(tmp_path: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured
    from joserfc.jwk import ECKey, RSAKey

    ec = ECKey.generate_key("P-256")
    rsa = RSAKey.generate_key(2048)
    from cryptography.hazmat.primitives import serialization

    sec1 = ec.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    assert "BEGIN EC PRIVATE KEY" in sec1
    cases = {
        "ec.pem": (ec.as_pem(private=True).decode(), ECKey),
        "ec-sec1.pem": (sec1, ECKey),
        "ec.json": ("\n  " + json.dumps(ec.as_dict(private=True)), ECKey),
        "rsa.pem": (rsa.as_pem(private=True).decode(), RSAKey),
        "rsa.json": (json.dumps(rsa.as_dict(private=True)), RSAKey),
    }
    for name, (text, kind) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert isinstance(oidc._client_key(_config_with_key(path)), kind), name
    with pytest.raises(ImproperlyConfigured, match="cannot read the private key file"):
        oidc._client_key(_config_with_key(tmp_path / "missing.pem"))


def test_the_assurance_level_is_read_from_acr_or_helseids_own_claims() -> None:
    assert oidc._assurance({"acr": "idporten-loa-high"}) == "idporten-loa-high"
    assert oidc._assurance({"acr": "", oidc.HELSEID_SECURITY_LEVEL: 4}) == "4"
    assert oidc._assurance({oidc.HELSEID_ASSURANCE_LEVEL: "high"}) == "high"
    assert oidc._assurance({"acr": None}) == ""
    assert oidc._assurance({}) == ""


def test_the_login_url_joins_an_authorization_endpoint_with_its_own_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = oidc.ProviderConfig(
        name="idporten", label="ID-porten", issuer="https://idp.example", client_id="klient"
    )
    answers = {"authorization_endpoint": "https://idp.example/authorize?ui_locales=nb"}
    monkeypatch.setattr(oidc, "metadata", lambda _config: answers)
    url = oidc.start(config, {}, "https://nnrr.example/callback", "")
    assert url.startswith("https://idp.example/authorize?ui_locales=nb&response_type=code&")
    answers["authorization_endpoint"] = "https://idp.example/authorize"
    url = oidc.start(config, {}, "https://nnrr.example/callback", "")
    assert url.startswith("https://idp.example/authorize?response_type=code&")


def test_an_https_issuer_is_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.test import override_settings

    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", "https://idporten.no")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_ID", "klient")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", "hemmelig")
    with override_settings(PRODUCTION=True):
        config = oidc.provider_config("idporten")
    assert config is not None and config.issuer == "https://idporten.no"


def test_the_refusal_carries_its_message_for_the_person() -> None:
    refusal = oidc.LoginRefused("state_mismatch", "Start innloggingen på nytt.")
    assert str(refusal) == refusal.message == "Start innloggingen på nytt."
    assert refusal.reason == "state_mismatch"


def test_the_end_session_url_joins_an_endpoint_with_its_own_query(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = oidc.ProviderConfig(
        name="idporten", label="ID-porten", issuer="https://idp.example", client_id="klient"
    )
    answers: dict[str, Any] = {"end_session_endpoint": "https://idp.example/logout?ui=nb"}
    monkeypatch.setattr(oidc, "metadata", lambda _config: answers)
    url = oidc.end_session_url(config, "a.b.c", "https://nnrr.example/")
    assert url.startswith("https://idp.example/logout?ui=nb&id_token_hint=a.b.c&")
    answers["end_session_endpoint"] = ""
    assert oidc.end_session_url(config, "a.b.c", "https://nnrr.example/") == ""
    answers["end_session_endpoint"] = 42
    assert oidc.end_session_url(config, "a.b.c", "https://nnrr.example/") == ""

    def unreachable(_config: Any) -> Any:
        raise oidc.LoginRefused("provider_unreachable", "svarer ikke")

    monkeypatch.setattr(oidc, "metadata", unreachable)
    assert oidc.end_session_url(config, "a.b.c", "https://nnrr.example/") == ""


# --- Tokens and keys that cannot be trusted, each refused for its own reason ---------------------


def shown_refusal(response: Any) -> str:
    """The refusal's message as the page shows it, word for word."""
    html = response.content.decode()
    return html.split('<p class="ds-paragraph">', 1)[1].split("</p>", 1)[0]


@pytest.mark.parametrize(
    ("tamper", "reason", "message"),
    [
        ("not_a_token", "bad_token", "Innloggingen kunne ikke bekreftes."),
        ("alg_none", "bad_token", "Innloggingen kunne ikke bekreftes (ukjent algoritme)."),
        ("unreadable_jwks", "bad_jwks", "Innloggingstjenestens nøkler kunne ikke leses."),
        (
            "unknown_kid",
            "unknown_key",
            "Innloggingen kunne ikke bekreftes (ukjent nøkkel). Prøv igjen.",
        ),
    ],
)
def test_a_token_that_cannot_be_verified_is_refused_with_its_reason_and_message(
    client: Client, provider: Provider, persona: Any, tamper: str, reason: str, message: str
) -> None:
    provider.add_user("sub-" + tamper, pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = tamper
    response = eid_login(client, provider, "sub-" + tamper)
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == reason
    assert shown_refusal(response) == message


@pytest.mark.parametrize("claim", ["sub", "exp", "iat", "iss"])
def test_an_id_token_without_a_required_claim_is_refused_as_unconfirmed_not_expired(
    client: Client, provider: Provider, persona: Any, claim: str
) -> None:
    """A token without ``exp`` is malformed: logging in again would not help, so the person is
    not told that the login expired."""
    provider.add_user("sub-no-" + claim, pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = "without_" + claim
    response = eid_login(client, provider, "sub-no-" + claim)
    assert response.status_code == 403 and not logged_in(client)
    assert not Identity.objects.filter(issuer=provider.url).exists()
    assert refusal_reason() == "bad_claims"
    assert shown_refusal(response) == "Innloggingen kunne ikke bekreftes."


@pytest.mark.parametrize(
    "tamper",
    [
        "PS256",
        "RS512",
        "clock_ahead",
        "duplicate_kid",
        "audience_as_a_string",
        "two_audiences_authorised_party_us",
    ],
)
def test_a_valid_id_token_is_accepted_whatever_its_rsa_algorithm_or_small_clock_difference(
    client: Client, provider: Provider, persona: Any, tamper: str
) -> None:
    """PS256 and RS512 (not only RS256), a provider clock up to a minute ahead, a JWKS that
    lists a second key under the signing key's kid after it, an audience given as a string, and
    two audiences with us as the authorised party."""
    clinician = persona("clinician")
    provider.add_user("sub-ok-" + tamper, pid=national_id_of(clinician), acr=ACR_HIGH)
    provider.tamper = tamper
    response = eid_login(client, provider, "sub-ok-" + tamper)
    assert response.status_code == 302, shown_refusal(response)
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_the_providers_keys_are_fetched_once_while_tokens_name_a_known_key(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-cached", pid=national_id_of(clinician), acr=ACR_HIGH)
    eid_login(client, provider, "sub-cached")
    client.logout()
    eid_login(client, provider, "sub-cached")
    assert logged_in(client)
    assert provider.jwks_requests == 1


def test_an_unknown_key_is_looked_up_again_only_after_the_minimum_interval(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens naming unknown keys cannot make us fetch the provider's keys again and again."""
    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH_SECONDS", 600)
    provider.add_user("sub-flood", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    eid_login(client, provider, "sub-flood")
    client.logout()
    provider.tamper = "unknown_kid"
    response = eid_login(client, provider, "sub-flood")
    assert response.status_code == 403 and refusal_reason() == "unknown_key"
    assert provider.jwks_requests == 1  # fetched for the first login, not again since


class FakeClock:
    """The login module's clocks, moved by hand: ``monotonic`` (the key cache) and ``time`` (the
    pending login's start), each unless set the real one."""

    def __init__(self, start: float | None = None, wall: float | None = None) -> None:
        import time

        self.now = time.monotonic() if start is None else start
        self.wall = time.time() if wall is None else wall

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall


def test_an_unknown_key_is_looked_up_again_exactly_when_the_minimum_interval_has_passed(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(50_000.0)
    monkeypatch.setattr(oidc, "time", clock)
    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH_SECONDS", 600)
    provider.add_user("sub-interval", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    eid_login(client, provider, "sub-interval")
    assert logged_in(client) and provider.jwks_requests == 1
    client.logout()
    provider.tamper = "unknown_kid"
    clock.now += 599  # within the interval: the cached keys answer, and the token is refused
    assert eid_login(client, provider, "sub-interval").status_code == 403
    assert refusal_reason() == "unknown_key" and provider.jwks_requests == 1
    clock.now += 1  # the interval has passed: the keys are fetched again (and still lack it)
    assert eid_login(client, provider, "sub-interval").status_code == 403
    assert refusal_reason() == "unknown_key" and provider.jwks_requests == 2


def test_a_key_rotated_in_while_the_provider_publishes_two_keys_is_fetched_and_accepted(
    client: Client, provider: Provider, persona: Any
) -> None:
    """The cached key set holds two keys, neither the token's: it is fetched again, not used."""
    clinician = persona("clinician")
    provider.add_user("sub-rotate-twice", pid=national_id_of(clinician), acr=ACR_HIGH)
    provider.rotated_key = ROTATED_KEY
    provider.tamper = "rotate"
    eid_login(client, provider, "sub-rotate-twice")
    assert logged_in(client) and provider.jwks_requests == 1
    client.logout()
    provider.rotated_key = NEXT_ROTATED_KEY
    response = eid_login(client, provider, "sub-rotate-twice")
    assert response.status_code == 302, refusal_reason()
    assert int(client.session["_auth_user_id"]) == clinician.user.pk
    assert provider.jwks_requests == 2


class _Clock:
    """The login module's clock, moved forward by hand (``monotonic`` for the caches, ``time``
    for the pending logins)."""

    def __init__(self) -> None:
        self.ahead = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.ahead

    def time(self) -> float:
        return time.time() + self.ahead


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    moved = _Clock()
    monkeypatch.setattr(oidc, "time", moved)
    return moved


def test_the_providers_description_is_read_again_once_it_is_an_hour_old(
    client: Client, provider: Provider, db: Any, clock: _Clock
) -> None:
    assert client.get(reverse("accounts:oidc_start", args=["idporten"])).status_code == 302
    provider.tamper = "discovery_of_another_issuer"
    clock.ahead = oidc.DISCOVERY_TTL_SECONDS - 5
    # Within the hour the description read at the first login is used.
    assert client.get(reverse("accounts:oidc_start", args=["idporten"])).status_code == 302
    clock.ahead = oidc.DISCOVERY_TTL_SECONDS + 5
    response = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    assert response.status_code == 403 and refusal_reason() == "issuer_mismatch"


def test_the_minimum_interval_between_key_lookups_counts_from_the_last_key_lookup(
    client: Client,
    provider: Provider,
    persona: Any,
    monkeypatch: pytest.MonkeyPatch,
    clock: _Clock,
) -> None:
    """Keys fetched again for a rotated key, minutes after the provider's description was read:
    a token naming an unknown key right after that does not make us fetch them a third time."""
    monkeypatch.setattr(oidc, "JWKS_MIN_REFRESH_SECONDS", 600)
    provider.add_user("sub-interval", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    eid_login(client, provider, "sub-interval")
    client.logout()
    clock.ahead = 700
    provider.rotated_key = ROTATED_KEY
    provider.tamper = "rotate"
    eid_login(client, provider, "sub-interval")
    assert logged_in(client)
    client.logout()
    assert provider.jwks_requests == 2
    clock.ahead = 800
    provider.tamper = "unknown_kid"
    response = eid_login(client, provider, "sub-interval")
    assert response.status_code == 403 and refusal_reason() == "unknown_key"
    assert provider.jwks_requests == 2  # 100 s after the last lookup: not again


# --- Every refusal of the login flow: its reason in the audit trail, its words on the page -------


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("discovery_not_an_object", "Innloggingstjenesten svarte ikke som ventet."),
        (
            "discovery_of_another_issuer",
            "Innloggingstjenesten oppga en annen utsteder enn den som er satt opp.",
        ),
        ("discovery_without_jwks_uri", "Innloggingstjenesten svarte ikke som ventet."),
        (
            "discovery_without_issuer",
            "Innloggingstjenesten oppga en annen utsteder enn den som er satt opp.",
        ),
    ],
)
def test_a_provider_describing_itself_wrongly_is_not_used(
    client: Client, provider: Provider, db: Any, tamper: str, message: str
) -> None:
    provider.tamper = tamper
    response = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    assert response.status_code == 403
    assert shown_refusal(response) == message
    reasons = {
        "discovery_not_an_object": "provider_unreachable",
        "discovery_of_another_issuer": "issuer_mismatch",
        "discovery_without_jwks_uri": "bad_discovery",
        "discovery_without_issuer": "issuer_mismatch",
    }
    assert refusal_reason() == reasons[tamper]


def test_a_discovery_document_naming_the_issuer_with_a_trailing_slash_is_the_same_issuer(
    client: Client, provider: Provider, db: Any
) -> None:
    provider.tamper = "discovery_issuer_with_slash"
    response = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    assert response.status_code == 302 and response["Location"].startswith(provider.url)


def test_a_provider_slower_than_the_timeout_is_explained_as_not_answering(
    client: Client, provider: Provider, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its description comes after 3 s; with a 1.5 s timeout the login page says so at once."""
    monkeypatch.setattr(oidc, "HTTP_TIMEOUT", 1.5)
    provider.tamper = "discovery_slow"
    response = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    assert response.status_code == 403
    assert refusal_reason() == "provider_unreachable"


def test_the_providers_description_is_fetched_again_after_an_hour_not_before(
    client: Client, provider: Provider, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(start=50_000.0)
    monkeypatch.setattr(oidc, "time", clock)
    start = reverse("accounts:oidc_start", args=["idporten"])
    assert client.get(start).status_code == 302 and provider.discovery_requests == 1
    clock.now += 3599
    assert client.get(start).status_code == 302 and provider.discovery_requests == 1
    clock.now += 1
    assert client.get(start).status_code == 302 and provider.discovery_requests == 2


def test_an_unreachable_provider_is_explained_and_tried_again_at_the_next_login(
    client: Client, provider: Provider, db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as closed:
        closed.bind(("localhost", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", f"http://localhost:{port}")
    response = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    assert response.status_code == 403
    assert shown_refusal(response) == (
        "Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen om litt."
    )
    assert refusal_reason() == "provider_unreachable"
    monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", provider.url)  # back again: nothing was cached
    assert client.get(reverse("accounts:oidc_start", args=["idporten"])).status_code == 302


@pytest.mark.parametrize(
    ("tamper", "reason", "message"),
    [
        ("no_id_token", "no_id_token", "Innloggingstjenesten sendte ikke ID-token."),
        ("userinfo_fails", "userinfo_failed", "Innloggingstjenesten svarte ikke som ventet."),
    ],
)
def test_a_provider_answer_without_what_the_login_needs_is_refused(
    client: Client, provider: Provider, persona: Any, tamper: str, reason: str, message: str
) -> None:
    provider.add_user("sub-" + tamper, pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = tamper
    response = eid_login(client, provider, "sub-" + tamper)
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == reason
    assert shown_refusal(response) == message


def test_the_refusals_of_the_callback_are_worded_for_the_person(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import requests

    callback = reverse("accounts:oidc_callback", args=["idporten"])
    # Cancelled at the provider.
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    denied = requests.post(
        start["Location"], data={"action": "deny"}, allow_redirects=False, timeout=5
    )
    location = urlsplit(denied.headers["Location"])
    response = client.get(f"{location.path}?{location.query}")
    assert refusal_reason() == "provider_error"
    assert shown_refusal(response) == "Innloggingen ble avbrutt eller avvist."
    # A state this browser never started.
    response = client.get(f"{callback}?state=unknown&code=x")
    assert refusal_reason() == "state_mismatch"
    assert shown_refusal(response) == (
        "Innloggingen passet ikke med denne nettleserøkten. Start innloggingen på nytt."
    )
    # Back without a code.
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    response = client.get(f"{callback}?state={state}")
    assert refusal_reason() == "no_code"
    assert shown_refusal(response) == "Innloggingstjenesten sendte ikke noe svar å logge inn med."
    # Too low a level, and no number.
    provider.add_user(
        "sub-words-low", pid=national_id_of(persona("clinician")), acr="idporten-loa-low"
    )
    response = eid_login(client, provider, "sub-words-low")
    assert shown_refusal(response) == (
        "Du logget inn med et for lavt sikkerhetsnivå. Registeret krever høyt sikkerhetsnivå "
        "(for eksempel BankID eller Buypass)."
    )
    provider.add_user("sub-words-nopid", acr=ACR_HIGH)
    response = eid_login(client, provider, "sub-words-nopid")
    assert shown_refusal(response) == "Innloggingstjenesten oppga ikke fødselsnummeret ditt."
    # The provider refusing the token request (a wrong client secret).
    monkeypatch.delenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE")
    monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_SECRET", "not-the-secret")
    provider.add_user("sub-words-secret", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    response = eid_login(client, provider, "sub-words-secret")
    assert refusal_reason() == "token_request_failed"
    assert shown_refusal(response) == "Innloggingstjenesten godtok ikke innloggingen. Prøv igjen."


def test_a_login_left_at_the_provider_for_more_than_15_minutes_is_started_again(
    client: Client, provider: Provider, persona: Any
) -> None:
    provider.add_user("sub-slow", pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-slow")
    session = client.session
    pending = session[oidc.PENDING_SESSION_KEY]
    for entry in pending.values():
        entry["started"] -= 901
    session[oidc.PENDING_SESSION_KEY] = pending
    session.save()
    response = client.get(callback)
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "stale_login"
    assert shown_refusal(response) == "Innloggingen tok for lang tid. Start på nytt."
    assert not provider.token_requests  # refused before the code was used


def test_a_login_may_take_15_minutes_at_the_provider_but_not_a_moment_more(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(wall=1_800_000_000.0)
    monkeypatch.setattr(oidc, "time", clock)
    clinician = persona("clinician")
    provider.add_user("sub-fifteen", pid=national_id_of(clinician), acr=ACR_HIGH)
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-fifteen")
    clock.wall += 900
    assert client.get(callback).status_code == 302, refusal_reason()
    assert int(client.session["_auth_user_id"]) == clinician.user.pk
    client.logout()
    start = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    callback = provider.authorize(start["Location"], "sub-fifteen")
    clock.wall += 900.5
    response = client.get(callback)
    assert response.status_code == 403 and not logged_in(client)
    assert refusal_reason() == "stale_login"


def test_a_login_started_in_two_tabs_finishes_in_either(
    client: Client, provider: Provider, persona: Any
) -> None:
    clinician = persona("clinician")
    provider.add_user("sub-tabs", pid=national_id_of(clinician), acr=ACR_HIGH)
    first = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    second = client.get(reverse("accounts:oidc_start", args=["idporten"]))
    first_callback = provider.authorize(first["Location"], "sub-tabs")
    second_callback = provider.authorize(second["Location"], "sub-tabs")
    assert client.get(first_callback).status_code == 302
    # The first tab's login did not forget the second one's.
    assert client.get(second_callback).status_code == 302, refusal_reason()
    assert int(client.session["_auth_user_id"]) == clinician.user.pk


def test_an_unknown_assurance_level_is_refused_even_where_the_lowest_level_is_accepted(
    client: Client, provider: Provider, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NNRR_IDPORTEN_ACR_VALUES", "idporten-loa-low")
    clinician = persona("clinician")
    provider.add_user("sub-any-level", pid=national_id_of(clinician), acr="level9")
    response = eid_login(client, provider, "sub-any-level")
    assert response.status_code == 403 and refusal_reason() == "low_assurance"
    provider.add_user("sub-low-level", pid=national_id_of(clinician), acr="idporten-loa-low")
    assert eid_login(client, provider, "sub-low-level").status_code == 302
