"""The user manual's "6 raske prosedyresteg for bestilling av skjema", in a browser.

Log in with the Test IDP as EGIL LARSEN, choose "Pasientansvarlig ved St. Olavs hospital HF",
"Opprett nytt skjema", search the fødselsnummer, register the unknown patient, "Behandlerskjema"
→ "Opprett nytt skjema", Henvisningsdato + Planlagt dato for konsultasjon, "Avslutt
skjemautfylling": the patient page lists the Behandlerskjema in Kladd and the planned ePROM.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from nnrr.demo.loader import ensure_users
from nnrr.demo.people import synthetic_id
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, FormStatus
from nnrr.scheduling.models import OrderState
from tests.browser.conftest import (
    HAUKELAND_NAME,
    PROFILE_HAUKELAND,
    ST_OLAVS_NAME,
    NewPage,
    choose_profile,
    egil_larsen,
    login,
    no_date,
    open_person_menu,
    screenshot,
    today,
)
from tests.conftest import ST_OLAVS, make_patient

pytestmark = pytest.mark.browser

PATIENT_NAME = "Sigrid Testesen"


def _wrong_second_check_digit(number: str) -> str:
    return number[:10] + str((int(number[10]) + 1) % 10)


def _main(page: Page) -> Locator:
    return page.get_by_role("main")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_six_quick_steps_from_test_idp_to_the_draft(new_page: NewPage, size: str) -> None:
    ensure_users()
    national_id = synthetic_id(random.Random(size), dt.date(1971, 4, 12), "F")
    page = new_page(size)

    # 1. Log in (Test IDP: EGIL LARSEN's number is filled in) and choose the profile.
    page.goto("/testidp/")
    expect(page.get_by_label("Fødselsnummer", exact=True)).to_have_value("24019491117")
    screenshot(page, "testidp")
    page.get_by_role("button", name="Logg inn").click()
    expect(page).to_have_url(re.compile(r"/velg-profil/"))
    screenshot(page, "choose-profile")
    choose_profile(page, f"Pasientansvarlig ved {ST_OLAVS_NAME}")
    expect(page.get_by_text(f"Pasientansvarlig ved {ST_OLAVS_NAME}").first).to_be_attached()
    screenshot(page, "front")

    # 2. "Opprett nytt skjema" and search the patient; a wrong check digit is explained.
    page.get_by_role("link", name="Opprett nytt skjema").click()
    expect(page.get_by_role("heading", level=1, name="Opprett nytt skjema")).to_be_visible()
    field = _main(page).get_by_label("Fødselsnummer", exact=True)
    field.fill(_wrong_second_check_digit(national_id))
    _main(page).get_by_role("button", name="Søk").click()
    expect(
        _main(page).get_by_text("Andre kontrollsiffer (siffer nr. 11) stemmer ikke")
    ).to_be_visible()
    screenshot(page, "search-error")
    field = _main(page).get_by_label("Fødselsnummer", exact=True)
    field.fill(national_id)
    _main(page).get_by_role("button", name="Søk").click()

    # The patient is new at the unit: registration is offered.
    expect(
        page.get_by_role("heading", name="Pasienten er ikke registrert ved enheten")
    ).to_be_visible()
    expect(page.get_by_text(f"{national_id[:6]} {national_id[6:]} er gyldig")).to_be_visible()
    screenshot(page, "register")
    page.get_by_label("Navn").fill(PATIENT_NAME)
    page.get_by_role("button", name="Registrer pasient").click()
    expect(page.get_by_text(f"{PATIENT_NAME} er registrert ved enheten.")).to_be_visible()

    # 3. "Behandlerskjema" → "Opprett nytt skjema".
    card = page.locator(".ds-card", has=page.get_by_role("heading", name="Behandlerskjema"))
    screenshot(page, "new-form")
    card.get_by_role("link", name="Opprett nytt skjema").click()
    expect(page.get_by_role("heading", level=2, name="Behandlerskjema")).to_be_visible()

    # 4.–5. Henvisningsdato (first in the future: refused) and Planlagt dato for konsultasjon.
    referral, planned = today() - dt.timedelta(days=7), today() + dt.timedelta(days=30)
    page.get_by_label("Henvisningsdato").fill((today() + dt.timedelta(days=3)).isoformat())
    page.get_by_label("Planlagt dato for konsultasjon").fill(planned.isoformat())
    page.get_by_role("button", name="Avslutt skjemautfylling").click()
    expect(page.get_by_text("Henvisningsdato kan ikke være i fremtiden.")).to_be_visible()
    screenshot(page, "booking-error")
    page.get_by_label("Henvisningsdato").fill(referral.isoformat())
    expect(page.get_by_label("Planlagt dato for konsultasjon")).to_have_value(planned.isoformat())

    # 6. "Avslutt skjemautfylling" saves the Behandlerskjema as Kladd.
    page.get_by_role("button", name="Avslutt skjemautfylling").click()
    expect(page.get_by_text("Behandlerskjema er lagret i kladd.")).to_be_visible()
    expect(page.get_by_role("heading", level=1, name=PATIENT_NAME)).to_be_visible()
    screenshot(page, "patient-page")
    course = page.locator("section.app-course")
    expect(course).to_have_count(1)
    row = course.get_by_role("row").filter(has=page.get_by_role("link", name="Behandlerskjema"))
    expect(row).to_contain_text("Kladd")
    expect(row).to_contain_text(no_date(planned))
    expect(row).to_contain_text("EGIL LARSEN")
    order_row = course.get_by_role("row").filter(has_text="Pasientskjema før behandling")
    expect(order_row).to_contain_text("Planlagt")
    expect(
        page.get_by_role("heading", name=re.compile(f"henvist {no_date(referral)}"))
    ).to_be_visible()

    stored = Course.objects.get(patient__national_id=national_id)
    assert (stored.referral_date, stored.planned_consultation_date) == (referral, planned)
    assert stored.owner is not None and stored.owner.full_name == "EGIL LARSEN"
    assert stored.responses.get(kind=FormKind.CLINICIAN).status == FormStatus.KLADD
    assert stored.orders.get().state == OrderState.PLANNED

    # The patient belongs to St. Olavs: with the Haukeland profile it cannot be found.
    open_person_menu(page)
    page.get_by_role("link", name="Bytt profil").click()
    choose_profile(page, PROFILE_HAUKELAND)
    expect(page.get_by_role("heading", level=1, name=HAUKELAND_NAME)).to_be_visible()
    # The search field in the top right corner (Kortveileder step 2).
    header_search = page.get_by_role("search")
    header_search.get_by_label("Søk etter pasient (fødselsnummer)").fill(national_id)
    header_search.get_by_role("button", name="Søk").click()
    expect(
        page.get_by_role("heading", name="Pasienten er ikke registrert ved enheten")
    ).to_be_visible()
    expect(page.get_by_text(PATIENT_NAME)).to_have_count(0)
    assert Patient.objects.filter(national_id=national_id).count() == 1

    # Log out from the person button.
    open_person_menu(page)
    page.get_by_role("button", name="Logg ut").click()
    expect(page.get_by_text("Du er logget ut.")).to_be_visible()
    expect(page.locator("details.app-person")).to_have_count(0)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/logg-inn/"))


def _tab_to(page: Page, target: Locator, *, limit: int = 40) -> None:
    """Press Tab until ``target`` has the keyboard focus (a date field has several stops)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    raise AssertionError(f"{target} was not reached with Tab")


def _day_equals_month(start: dt.date, step: int) -> dt.date:
    """The nearest date from ``start`` (going ``step`` days at a time) whose day and month are the
    same number. Typed as digits, such a date means the same in a dd.mm.åååå and a mm/dd/yyyy date
    field, whatever locale the browser's date input follows (Debian's Chromium has only en-US)."""
    day = start
    while day.day != day.month:
        day += dt.timedelta(days=step)
    return day


def test_booking_form_with_the_keyboard_only(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Tastatur Testesen")
    page = new_page("desktop")
    login(page)
    page.goto(f"/pasient/{patient.pk}/opprett/behandlerskjema/")

    # The skip link is the first stop and moves the focus to the main content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Hopp til hovedinnhold")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"#main$"))

    referral = _day_equals_month(today(), -1)
    planned = _day_equals_month(today() + dt.timedelta(days=1), 1)
    referral_field = page.get_by_label("Henvisningsdato")
    planned_field = page.get_by_label("Planlagt dato for konsultasjon")
    _tab_to(page, referral_field)
    page.keyboard.type(referral.strftime("%d%m%Y"))
    _tab_to(page, planned_field)
    page.keyboard.type(planned.strftime("%d%m%Y"))
    expect(referral_field).to_have_value(referral.isoformat())
    expect(planned_field).to_have_value(planned.isoformat())
    button = page.get_by_role("button", name="Avslutt skjemautfylling")
    _tab_to(page, button, limit=5)
    outline = button.evaluate(
        "b => getComputedStyle(b).outlineStyle + ' ' + getComputedStyle(b).boxShadow"
    )
    assert outline != "none none", "the focused button shows no focus indicator"
    page.keyboard.press("Enter")

    expect(page.get_by_text("Behandlerskjema er lagret i kladd.")).to_be_visible()
    course = Course.objects.get(patient=patient)
    assert (course.referral_date, course.planned_consultation_date) == (referral, planned)
    assert course.owner == egil.user
