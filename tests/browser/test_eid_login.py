"""eID login in Chromium against the local OpenID provider, and Søk om tilgang to a profile."""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from nnrr.accounts import oidc
from nnrr.accounts.models import Identity
from nnrr.demo.loader import ensure_users
from nnrr.demo.people import synthetic_id
from tests.accounts.oidc_provider import CLIENT_ID, Provider, start_provider
from tests.browser.conftest import PROFILE_ST_OLAVS, choose_profile, login, open_person_menu

pytestmark = pytest.mark.browser


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Provider]:
    for running in start_provider():
        key_file = tmp_path / "client-key.json"
        key_file.write_text(json.dumps(running.client_key.as_dict(private=True)))
        monkeypatch.setenv("NNRR_IDPORTEN_ISSUER", running.url)
        monkeypatch.setenv("NNRR_IDPORTEN_CLIENT_ID", CLIENT_ID)
        monkeypatch.setenv("NNRR_IDPORTEN_PRIVATE_KEY_FILE", str(key_file))
        oidc.clear_cache()
        yield running
        oidc.clear_cache()


def eid_login(page: Page, sub: str) -> None:
    page.goto("/logg-inn/")
    page.get_by_role("link", name="Logg inn med ID-porten").click()
    page.locator("input[name=sub]").fill(sub)
    page.get_by_role("button", name="Authorize").click()


def test_a_clinician_logs_in_with_id_porten_and_out_again(
    new_page: Any, provider: Provider
) -> None:
    egil = ensure_users()["EGIL LARSEN"]
    provider.add_user("egil-sub", pid=egil.national_id, acr="idporten-loa-high", name="EGIL")
    page = new_page()
    eid_login(page, "egil-sub")
    choose_profile(page, PROFILE_ST_OLAVS)
    assert Identity.objects.filter(user=egil, subject="egil-sub").exists()
    open_person_menu(page)
    page.get_by_role("button", name="Logg ut").click()
    page.wait_for_url(f"{provider.url}/oauth2/end_session*")


def test_a_new_person_applies_and_gets_a_profile_after_approval(
    new_page: Any, provider: Provider
) -> None:
    users = ensure_users()
    number = synthetic_id(random.Random(5), dt.date(1992, 6, 1), "F")
    provider.add_user("new-sub", pid=number, acr="idporten-loa-high", name="Tone Ny")
    page = new_page()
    eid_login(page, "new-sub")
    expect(page.get_by_role("heading", name="Søk om tilgang")).to_be_visible()
    page.get_by_label("E-post på jobb").fill("tone@stolav.no")
    page.get_by_label("Enhet", exact=True).select_option(label="St. Olavs hospital HF")
    page.get_by_label("Pasientansvarlig", exact=False).check()
    page.get_by_label("Kommentar: din rolle i NNRR").fill("Pasientbehandler")
    page.get_by_role("button", name="Send søknad").click()
    expect(page.get_by_text("Søknaden er sendt")).to_be_visible()

    admin = new_page()
    login(
        admin,
        users["Siri Sekretariat"].national_id,
        "Registeradministrator ved Universitetssykehuset Nord-Norge HF, Tromsø",
    )
    admin.goto("/administrasjon/soknader/")
    admin.get_by_role("link", name="Tone Ny").click()
    admin.get_by_role("button", name="Godkjenn søknaden").click()
    expect(admin.get_by_text("Søknaden er godkjent")).to_be_visible()

    page.goto("/velg-profil/")
    choose_profile(page, PROFILE_ST_OLAVS)


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_access_pages_pass_axe(new_page: Any, size: str) -> None:
    from nnrr.accounts.models import AccessApplication
    from tests.browser.test_accessibility import Audit
    from tests.conftest import ST_OLAVS, book, make_patient

    users = ensure_users()
    nora = users["Nora Nyansatt"]
    egil = users["EGIL LARSEN"]
    application = AccessApplication.objects.create(
        applicant=nora,
        work_email="nora@stolav.no",
        unit_id=ST_OLAVS,
        roles=["pasientansvarlig"],
        comment="Merkantil",
    )
    from nnrr.accounts.models import Membership
    from tests.conftest import Persona

    patient = make_patient(ST_OLAVS, name="Logg Pasient")
    book(
        Persona(egil, Membership.objects.get(user=egil, unit_id=ST_OLAVS, role="pasientansvarlig")),
        patient,
    )

    page = new_page(size, bypass_csp=True)
    audit = Audit(page, size)
    page.goto("/testidp/")
    page.get_by_label("Fødselsnummer", exact=True).fill(nora.national_id)
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", name="Søk om tilgang")).to_be_visible()
    audit.check("apply-pending")

    admin = new_page(size, bypass_csp=True)
    audit_admin = Audit(admin, size)
    login(
        admin,
        users["Siri Sekretariat"].national_id,
        "Registeradministrator ved Universitetssykehuset Nord-Norge HF, Tromsø",
    )
    for name, url in [
        ("applications", "/administrasjon/soknader/"),
        ("application", f"/administrasjon/soknader/{application.pk}/"),
        ("users", "/administrasjon/brukere/"),
        ("user", f"/administrasjon/brukere/{egil.pk}/"),
        ("user-new", "/administrasjon/brukere/ny/"),
        ("units", "/administrasjon/enheter/"),
        ("unit", f"/administrasjon/enheter/{ST_OLAVS}/"),
        ("log", "/logg/"),
        ("innsyn", "/logg/innsyn/"),
    ]:
        admin.goto(url)
        audit_admin.check(name)
    admin.get_by_label("Pasientens fødselsnummer").fill(patient.national_id)
    admin.get_by_role("button", name="Lag liste").click()
    expect(admin.get_by_text("Logg Pasient")).to_be_visible()
    audit_admin.check("innsyn-list")
    audit.assert_clean()
    audit_admin.assert_clean()
