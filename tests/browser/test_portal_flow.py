"""The patient fills in the pre-treatment form at the clinic with a one-time code.

The manual ("Dersom pasienten ønsker å fylle ut sitt skjema på poliklinikken"): staff order the
form with "Jeg vil varsle mottaker selv" and read the one-time code; the patient, in another
browser (a phone), opens the ePROM portal, enters the code and the birth date, consents, answers
one section per page, reviews the unanswered questions and sends the form in; staff then open
"Pasientskjema før behandling" from the patient page and see the summary.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from nnrr.questionnaires.models import FormStatus, Response, Source
from nnrr.scheduling.models import Order, OrderState
from tests.browser.conftest import NewPage, egil_larsen, login, no_date, screenshot
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser

SECTION_URL = re.compile(r"/eprom/skjema/(\d+)/$")


def order_with_code(page: Page, patient_name: str, planned: str) -> str:
    """Order with a code: «Bestill ePROM» → Pasientskjema før behandling → the Behandlerskjema →
    «Jeg vil varsle mottaker selv» → «Jeg bekrefter …» → «Bestill»; returns the code shown."""
    page.get_by_role("link", name="Bestill ePROM").click()
    expect(page.get_by_role("heading", name="Bestill ePROM")).to_be_visible()
    page.get_by_label("Pasientskjema før behandling").check()
    page.get_by_label(f"Behandlerskjema, planlagt konsultasjon {planned}").check()
    page.get_by_label("Jeg vil varsle mottaker selv").check()
    page.get_by_label(f"Jeg bekrefter at {patient_name} skal motta skjemaet").check()
    page.get_by_role("button", name="Bestill").click()
    code = page.locator("#one-time-code")
    expect(code).to_have_text(re.compile(r"\S{6,}"))
    return code.inner_text().strip()


def answer_a_few(page: Page, how_many: int = 2) -> None:
    """Answer the first ``how_many`` radio questions of the page (first option)."""
    form = page.locator("form.app-questionnaire")
    names = form.evaluate(
        """f => [...new Set([...f.querySelectorAll('input[type=radio]')]
                 .filter(r => r.offsetParent !== null).map(r => r.name))]"""
    )
    for name in names[:how_many]:
        form.locator(f'input[type=radio][name="{name}"]').first.check()


def test_clinic_code_portal_and_summary(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Portal Pasientsen")
    course = book(egil, patient)
    staff = new_page("desktop")
    login(staff)
    staff.goto(f"/pasient/{patient.pk}/")
    code = order_with_code(staff, patient.name, no_date(course.planned_consultation_date))
    screenshot(staff, "order-code")
    expect(staff.get_by_role("link", name="ePROM utfyllingsportal")).to_have_attribute(
        "href", re.compile(r"/eprom/$")
    )
    order = Order.objects.get(course=course, state=OrderState.SENT)
    assert order.notify_self

    # The patient, on a phone: code + birth date, consent.
    phone = new_page("phone")
    phone.goto("/eprom/")
    screenshot(phone, "portal-start")
    phone.get_by_label("Engangskode").fill(code)
    phone.get_by_label("Fødselsdato").fill(no_date(patient.birth_date))
    phone.get_by_role("button", name="Logg inn").click()
    expect(phone.get_by_role("heading", name="Samtykke")).to_be_visible()
    phone.get_by_role("button", name="Fortsett").click()
    expect(phone.get_by_text("Du må krysse av for samtykke")).to_be_visible()
    phone.get_by_label(re.compile("Jeg samtykker til å delta")).check()
    phone.get_by_role("button", name="Fortsett").click()

    # One section per page: answer a few questions, "Neste" (answers may add or remove
    # sections, so the number of parts is read on each page).
    expect(phone).to_have_url(SECTION_URL)
    step = 1
    while not phone.url.endswith("/eprom/send-inn/"):
        assert step <= 20, "the portal never reached the review page"
        expect(phone).to_have_url(re.compile(rf"/eprom/skjema/{step}/$"))
        part = phone.get_by_text(re.compile(rf"^Del {step} av \d+$"))
        expect(part).to_be_visible()
        expect(phone.get_by_role("progressbar")).to_have_attribute("aria-valuenow", str(step))
        if step == 1:
            screenshot(phone, "portal-section")
        answer_a_few(phone)
        phone.get_by_role("button", name="Neste").click()
        phone.wait_for_url(re.compile(rf"/eprom/(skjema/{step + 1}|send-inn)/$"))
        step += 1
    assert step > 5, "the pre-treatment form has more than five parts"

    # Review: the unanswered questions are listed (with links back); "Send inn" twice.
    expect(phone).to_have_url(re.compile(r"/eprom/send-inn/$"))
    expect(phone.get_by_text(re.compile(r"\d+ spørsmål er ikke besvart"))).to_be_visible()
    back_links = phone.locator(".app-missing-list").get_by_role("link")
    expect(back_links.first).to_have_attribute("href", re.compile(r"/eprom/skjema/\d+/#item-"))
    screenshot(phone, "portal-review")
    phone.get_by_role("button", name="Send inn").dblclick()
    expect(phone.get_by_role("heading", name="Takk for svarene dine")).to_be_visible()
    expect(phone.get_by_text("«Pasientskjema før behandling» ble sendt inn")).to_be_visible()
    screenshot(phone, "portal-receipt")

    stored = Response.objects.filter(course=course, kind="1a")
    assert stored.count() == 1
    response = stored.get()
    assert response.status == FormStatus.FERDIGSTILT and response.source == Source.PORTAL
    assert response.consent is True
    order.refresh_from_db()
    assert order.state == OrderState.ANSWERED

    # The code is dead: the start page says so.
    phone.goto("/eprom/")
    phone.get_by_label("Engangskode").fill(code)
    phone.get_by_label("Fødselsdato").fill(no_date(patient.birth_date))
    phone.get_by_role("button", name="Logg inn").click()
    expect(phone.get_by_role("heading", name="Skjemaet er allerede sendt inn")).to_be_visible()

    # Staff: the patient page → "Pasientskjema før behandling" → the summary.
    staff.goto(f"/pasient/{patient.pk}/")
    staff.get_by_role("link", name="Pasientskjema før behandling").click()
    expect(
        staff.get_by_role("heading", level=2, name="Pasientskjema før behandling")
    ).to_be_visible()
    expect(staff.locator(".app-row .ds-tag")).to_have_text("Ferdigstilt")
    summary = staff.locator("section.app-summary")
    expect(summary.get_by_role("heading", name="Oppsummering")).to_be_visible()
    expect(summary.get_by_role("row").filter(has_text="ODI")).to_have_count(1)
    expect(staff.get_by_text("(utfylt av pasienten)")).to_be_visible()
