"""eID login over OpenID Connect against a real local provider, through Django's test client.

The whole redirect flow runs: our login URL → the provider's authorization endpoint (where the
test "logs in" as a subject) → our callback → token request (PKCE verifier and client
authentication checked by the provider) → ID token verified against the provider's JWKS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from nnrr.accounts import oidc
from nnrr.accounts.models import Identity, User
from nnrr.audit.models import AuditEvent
from tests.accounts.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, start_provider
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
    assert "client_secret" not in request and not request["authorization"]
    event = AuditEvent.objects.get(action="nnrr.login.succeeded")
    assert event.actor == clinician.user and event.detail["provider"] == "idporten"
    # The person's one profile is then taken without asking.
    page = client.get(response["Location"], follow=True).content.decode()
    assert '<h1 class="ds-heading" data-size="lg">St. Olavs hospital HF</h1>' in page


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
    key_file = tmp_path / "helseid.pem"
    key_file.write_bytes(provider.client_key.as_pem(private=True))
    monkeypatch.setenv("NNRR_HELSEID_ISSUER", provider.url)
    monkeypatch.setenv("NNRR_HELSEID_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("NNRR_HELSEID_PRIVATE_KEY_FILE", str(key_file))
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
    assert Identity.objects.filter(provider="helseid", subject="helseid-sub").exists()


@pytest.mark.parametrize(
    ("tamper", "reason", "words"),
    [
        ("bad_signature", "bad_signature", "ugyldig signatur"),
        ("wrong_audience", "wrong_audience", "annen tjeneste"),
        ("expired", "expired_token", "utløpt"),
        ("stale_nonce", "nonce_mismatch", "gjenbrukt svar"),
    ],
)
def test_a_bad_id_token_is_refused_with_a_clear_page(
    client: Client, provider: Provider, persona: Any, tamper: str, reason: str, words: str
) -> None:
    provider.add_user("sub-" + tamper, pid=national_id_of(persona("clinician")), acr=ACR_HIGH)
    provider.tamper = tamper
    response = eid_login(client, provider, "sub-" + tamper)
    assert response.status_code == 403
    assert words in response.content.decode()
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
    from joserfc.jwk import RSAKey

    clinician = persona("clinician")
    provider.add_user("sub-rotate", pid=national_id_of(clinician), acr=ACR_HIGH)
    eid_login(client, provider, "sub-rotate")
    client.logout()
    fetched = provider.jwks_requests
    provider.rotated_key = RSAKey.generate_key(2048, parameters={"kid": "rotated-key"})
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
    monkeypatch.setenv("NNRR_IDPORTEN_SCOPES", "profile")
    idporten = oidc.provider_config("idporten")
    assert idporten is not None
    assert idporten.issuer == "https://idporten.example"
    assert idporten.label == "ID-porten" and idporten.client_secret == "hemmelig"
    assert idporten.secret_method == "client_secret_basic"
    assert idporten.acr_values == ("idporten-loa-high",) and idporten.minimum_rank == 3
    assert idporten.scopes == ("openid", "profile")  # openid always asked for
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
