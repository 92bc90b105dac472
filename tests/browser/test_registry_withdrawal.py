"""The Registeradministrator's registry-wide consent withdrawal in Chromium: the number is posted
(never in the URL), the look-up names no patient, and axe finds nothing serious."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from nnrr.demo.loader import ensure_users
from nnrr.patients.models import Course
from tests.browser.conftest import NewPage, egil_larsen, login
from tests.browser.test_accessibility import Audit
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser

PROFILE = "Registeradministrator ved Universitetssykehuset Nord-Norge HF, Tromsø"


def _siri() -> str:
    return ensure_users()["Siri Sekretariat"].identities.get().subject


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_registry_wide_withdrawal(new_page: NewPage, size: str) -> None:
    page: Page = new_page(size, bypass_csp=True)
    audit = Audit(page, size)
    patient = make_patient(ST_OLAVS, name="Rikke Registerbred")
    course = book(egil_larsen(ST_OLAVS), patient)
    login(page, _siri(), PROFILE)

    page.get_by_role("link", name="Trekk samtykke (alle enheter)").click()
    expect(page.get_by_role("heading", name="Trekk samtykke ved alle enheter")).to_be_visible()
    audit.check("registry-withdrawal")
    page.get_by_label("Fødselsnummer").fill(patient.national_id)
    page.get_by_role("button", name="Søk").click()
    expect(page.get_by_text("Registrert ved 1 enhet")).to_be_visible()
    assert patient.national_id not in page.url
    assert "Rikke" not in page.content()
    audit.check("registry-withdrawal-lookup")
    page.get_by_label("Årsak oppgitt av pasienten").fill("Ønsker ikke å delta")
    page.get_by_label("Jeg bekrefter at pasienten har bedt om").check()
    page.get_by_role("button", name="Trekk samtykke ved alle enheter").click()
    expect(page.get_by_text("Samtykket er trukket ved 1 enhet.")).to_be_visible()
    audit.check("registry-withdrawal-done")
    assert Course.objects.get(pk=course.pk).status == Course.Status.WITHDRAWN
    audit.assert_clean()
