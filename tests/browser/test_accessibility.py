"""axe-core on the main pages: no serious or critical WCAG 2.0/2.1 A/AA violations.

Staff pages: Test IDP, "Velg profil", the front page, the patient page, booking (also with its
errors), the Behandlerskjema after a refused "Ferdigstill", a paper patient form, the summary,
the journal note, "Bestill ePROM" and the one-time code. Portal pages: start, link, consent, a
section, saved, review, receipt, and the used, locked and expired pages. Each at phone and
desktop width.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.validation import portal_pages
from nnrr.scheduling import codes
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.browser.conftest import (
    NewPage,
    axe,
    describe_violations,
    egil_larsen,
    login,
    no_date,
    screenshot,
    today,
)
from tests.conftest import Persona, book, make_patient

pytestmark = pytest.mark.browser

SIZES = ["phone", "desktop"]


class Audit:
    """Runs axe on each page visited and keeps the violations by page name."""

    def __init__(self, page: Page, size: str) -> None:
        self.page, self.size = page, size
        self.found: dict[str, list[dict[str, Any]]] = {}

    def check(self, name: str) -> None:
        self.page.wait_for_load_state()
        screenshot(self.page, f"a11y-{name}-{self.size}", full_page=False)
        violations = axe(self.page)
        if violations:
            self.found[name] = violations

    def assert_clean(self) -> None:
        report = "\n".join(f"{name}:\n{describe_violations(v)}" for name, v in self.found.items())
        assert not self.found, f"axe found serious/critical violations:\n{report}"


@pytest.mark.parametrize("size", SIZES)
def test_staff_pages(new_page: NewPage, size: str) -> None:
    egil = egil_larsen()
    patient = make_patient(egil.unit.pk, name="Universell Utforming")
    course = book(egil, patient)
    page = new_page(size, bypass_csp=True)
    audit = Audit(page, size)

    page.goto("/testidp/")
    audit.check("testidp")
    page.get_by_role("button", name="Logg inn").click()
    expect(page.get_by_role("heading", name="Velg profil")).to_be_visible()
    audit.check("choose-profile")
    page.get_by_role("button", name=f"Pasientansvarlig ved {egil.unit.name}", exact=True).click()
    expect(page.get_by_role("heading", level=1, name=egil.unit.name)).to_be_visible()
    audit.check("front")

    page.goto(f"/pasient/{patient.pk}/")
    audit.check("patient")

    page.goto(f"/pasient/{patient.pk}/opprett/behandlerskjema/")
    audit.check("booking")
    page.get_by_label("Henvisningsdato").fill((today() + dt.timedelta(days=2)).isoformat())
    page.get_by_role("button", name="Avslutt skjemautfylling").click()
    expect(page.locator(".ds-validation-message").first).to_be_visible()
    audit.check("booking-errors")

    response = course.responses.get(kind="1b")
    page.goto(f"/skjema/{response.pk}/fyll-ut/")
    page.get_by_role("button", name="Ferdigstill").first.click()
    expect(page.locator("#missing")).to_be_visible()
    audit.check("clinician-form-refused")
    page.locator("summary", has_text="Vis hjelp for Besøksdato").click()
    page.get_by_label("Søk etter diagnose (kode eller tekst)").first.fill("lumbago")
    expect(page.locator("#results-DiagnosticNumber1 button").first).to_be_visible()
    audit.check("clinician-form-help-and-diagnosis-results")
    code = page.locator("#input-DiagnosticNumber1")
    code.fill("M79.7")
    code.dispatch_event("change")
    expect(page.locator("#item-DiagnosticNumber1-warning")).to_be_visible()
    audit.check("clinician-form-unrelated-diagnosis-warning")
    expect(page.locator("#autosave-status")).to_have_text(re.compile(r"^Lagret kl\. "))
    audit.check("clinician-form-autosaved")

    page.goto(f"/forlop/{course.pk}/papirskjema/1a/")
    audit.check("paper-form-1a")
    page.get_by_role("button", name="Registrer skjema").click()
    expect(page.locator("#consent-error")).to_be_visible()
    audit.check("paper-form-1a-consent-error")
    page.locator("[data-region]").first.click()
    page.locator("#section-odi input[type=radio]").first.check()
    page.get_by_label("Pasienten har krysset av for samtykke på papirskjemaet").check()
    page.get_by_role("button", name="Registrer skjema").click()
    expect(page.locator("section.app-summary")).to_be_visible()
    audit.check("patient-form-summary")
    page.get_by_role("link", name="Journalnotat").click()
    audit.check("journal-note")

    other = make_patient(egil.unit.pk, name="Bestilling Bestillingsen")
    other_course = book(egil, other)
    page.goto(f"/pasient/{other.pk}/bestill-eprom/")
    audit.check("order")
    page.get_by_role("button", name="Bestill").click()
    expect(page.get_by_text("Du må bekrefte bestillingen.")).to_be_visible()
    audit.check("order-errors")
    page.get_by_label("Jeg vil varsle mottaker selv").check()
    page.get_by_label(
        f"Behandlerskjema, planlagt konsultasjon {no_date(other_course.planned_consultation_date)}"
    ).check()
    page.get_by_label("Jeg bekrefter at").check()
    page.get_by_role("button", name="Bestill").click()
    expect(page.locator("#one-time-code")).to_be_visible()
    audit.check("order-code")
    page.goto(f"/pasient/{other.pk}/")
    page.locator(".app-cell-actions summary").last.click()
    page.get_by_role("button", name="Vis engangskode").click()
    expect(page.locator("#one-time-code")).to_be_visible()
    audit.check("order-code-shown-again")
    page.goto("/arbeidsliste/mine/")
    audit.check("worklist-mine")

    audit.assert_clean()


def _order_with_code(egil: Persona, name: str) -> tuple[Order, str, dt.date]:
    patient = make_patient(egil.unit.pk, name=name)
    course = book(egil, patient)
    new = scheduling.order_questionnaire(
        actor=egil.actor, course=course, kind="1a", notify_self=True, now=timezone.now()
    )
    return new.order, new.code, patient.birth_date


def _enter(page: Page, code: str, birth: dt.date) -> None:
    page.goto("/eprom/")
    page.get_by_label("Engangskode").fill(code)
    page.get_by_label("Fødselsdato").fill(no_date(birth))
    page.get_by_role("button", name="Logg inn").click()


@pytest.mark.parametrize("size", SIZES)
def test_portal_pages(new_page: NewPage, size: str) -> None:
    egil = egil_larsen()
    order, code, birth = _order_with_code(egil, "Portal Portalsen")
    page = new_page(size, bypass_csp=True)
    audit = Audit(page, size)

    page.goto("/eprom/")
    audit.check("portal-start")
    page.get_by_role("button", name="Logg inn").click()
    expect(page.locator(".ds-validation-message").first).to_be_visible()
    audit.check("portal-start-errors")

    token = codes.link_token(order.pk, order.token_salt)
    page.goto(f"/eprom/lenke/{token}/")
    audit.check("portal-link")
    page.get_by_label("Fødselsdato").fill(no_date(birth))
    page.get_by_role("button", name="Åpne skjemaet").click()
    expect(page.get_by_role("heading", name="Samtykke")).to_be_visible()
    audit.check("portal-consent")
    page.get_by_role("button", name="Fortsett").click()
    expect(page.locator("#consent-error")).to_be_visible()
    audit.check("portal-consent-error")
    page.get_by_label("Jeg samtykker", exact=False).check()
    page.get_by_role("button", name="Fortsett").click()
    expect(page.get_by_text("Del 1 av")).to_be_visible()
    audit.check("portal-section")
    page.locator("form.app-questionnaire input[type=text]").first.fill("tre")
    page.get_by_role("button", name="Neste").click()
    expect(page.locator(".app-error-summary")).to_be_visible()
    audit.check("portal-section-errors")
    page.locator("form.app-questionnaire input[type=text]").first.fill("3")
    page.get_by_role("button", name="Lagre og fortsett senere").click()
    expect(page.get_by_role("heading", name="Svarene dine er lagret")).to_be_visible()
    audit.check("portal-saved")
    pages = portal_pages(get_definition(order.kind), {})
    for step, part in enumerate(pages, start=1):
        if part.section.id == "pain_drawing" or (part.section.id == "uhi" and part.part == 2):
            page.goto(f"/eprom/skjema/{step}/")
            expect(page.get_by_text(f"Del {step} av")).to_be_visible()
            audit.check(f"portal-{part.section.id}")
    page.goto("/eprom/send-inn/")
    expect(page.get_by_role("heading", name="Send inn skjemaet")).to_be_visible()
    audit.check("portal-review")
    page.get_by_role("button", name="Send inn").click()
    expect(page.get_by_role("heading", name="Takk for svarene dine")).to_be_visible()
    audit.check("portal-receipt")
    _enter(page, code, birth)
    expect(page.get_by_role("heading", name="Skjemaet er allerede sendt inn")).to_be_visible()
    audit.check("portal-used")

    # Locked: the last allowed wrong birth date locks the code.
    locked, locked_code, locked_birth = _order_with_code(egil, "Sperret Sperresen")
    Order.objects.filter(pk=locked.pk).update(code_failures=settings.PORTAL_MAX_FAILURES - 1)
    _enter(page, locked_code, locked_birth - dt.timedelta(days=1))
    expect(page.get_by_role("heading", name="Koden er sperret")).to_be_visible()
    audit.check("portal-locked")

    # Expired: the deadline has passed.
    expired, expired_code, expired_birth = _order_with_code(egil, "Utgått Utgåttsen")
    Order.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))
    _enter(page, expired_code, expired_birth)
    expect(page.get_by_role("heading", name="Skjemaet er ikke tilgjengelig")).to_be_visible()
    audit.check("portal-expired")

    audit.assert_clean()


def test_axe_finds_a_violation(new_page: NewPage) -> None:
    """The helper really runs axe: a page with an unlabelled field has a critical violation."""
    egil_larsen()
    page = new_page("desktop", bypass_csp=True)
    login(page)
    page.evaluate("() => document.querySelector('main').insertAdjacentHTML('beforeend', '<input>')")
    assert "label" in {v["id"] for v in axe(page)}


def test_designsystemet_css_and_htmx_are_served(new_page: NewPage) -> None:
    """The live server serves the static files: Designsystemet styles the buttons, htmx loads."""
    page = new_page("desktop")
    page.goto("/testidp/")
    button = page.get_by_role("button", name="Logg inn")
    radius = button.evaluate("b => getComputedStyle(b).borderRadius")
    background = button.evaluate("b => getComputedStyle(b).backgroundColor")
    assert radius not in ("", "0px"), radius
    assert background not in ("rgba(0, 0, 0, 0)", "rgb(239, 239, 239)"), background
    assert page.evaluate("() => typeof window.htmx") == "object"
