"""The manual's "Kortveileder for helsepersonell": fill in and complete the Behandlerskjema.

Open the course's Behandlerskjema → "Fyll ut skjema" → fill some items → "Ferdigstill" is refused
and the missing items are listed under the patient name as links that jump to the item → fill
everything → "Ferdigstill" → Ferdigstilt and read-only. Also the "?" help and the diagnosis picker.
"""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.validation import parse_submission
from nnrr.scheduling.models import Order
from tests.browser.conftest import (
    ST_OLAVS_NAME,
    NewPage,
    axe,
    describe_violations,
    egil_larsen,
    login,
    screenshot,
    today,
)
from tests.conftest import ST_OLAVS, Persona, book, make_patient
from tests.questionnaires.helpers import as_post, complete_answers

pytestmark = pytest.mark.browser

# Visible radio groups without a checked radio, and visible checkbox groups without a ticked box.
_UNANSWERED_JS = """
form => {
  const visible = el => el.offsetParent !== null;
  const radios = [...form.querySelectorAll('input[type=radio]')].filter(visible);
  const names = [...new Set(radios.map(r => r.name))]
    .filter(name => !form.querySelector(`input[type=radio][name="${name}"]:checked`));
  const groups = [...form.querySelectorAll('fieldset[data-group]')]
    .filter(g => g.dataset.group !== 'pain' && visible(g))
    .filter(g => !g.querySelector('input[type=checkbox]:checked'))
    .map(g => g.id);
  return {radios: names, groups: groups};
}
"""


def fill_every_mandatory_item(page: Page, *, diagnosis: str = "M54.5") -> None:
    """Answer every visible mandatory item of the Behandlerskjema the way a hurried clinician
    would: the first option of each radio group, the first box (not the "none" box) of each
    checkbox group, Besøksdato = today and Diagnose 1. Answers can show more items (a ticked
    medication asks how often), so repeat until nothing visible is unanswered."""
    form = page.locator("form.app-questionnaire")
    visit = page.locator("#input-S1b_DateOfCompletion")
    if not visit.input_value():
        visit.fill(today().isoformat())
    code = page.locator("#input-DiagnosticNumber1")
    if not code.input_value():
        code.fill(diagnosis)
    for _ in range(10):
        todo = form.evaluate(_UNANSWERED_JS)
        if not todo["radios"] and not todo["groups"]:
            return
        for name in todo["radios"]:
            form.locator(f'input[type=radio][name="{name}"]').first.check()
        for group_id in todo["groups"]:
            page.locator(f"#{group_id} input[type=checkbox]:not([data-exclusive])").first.check()
    raise AssertionError(f"still unanswered: {form.evaluate(_UNANSWERED_JS)}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_kortveileder_fill_refused_then_completed(new_page: NewPage, size: str) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Kari Kortveileder")
    course = book(egil, patient)
    page = new_page(size)
    login(page)

    # The patient's forms → "Behandlerskjema" → "Fyll ut skjema".
    page.goto(f"/pasient/{patient.pk}/")
    page.get_by_role("link", name="Behandlerskjema", exact=True).click()
    expect(page.get_by_role("heading", level=2, name="Behandlerskjema")).to_be_visible()
    expect(page.locator(".app-row .ds-tag")).to_have_text("Kladd")
    page.get_by_role("link", name="Fyll ut skjema").click()
    expect(page).to_have_url(re.compile(r"/fyll-ut/$"))

    # "?" shows the help text of an item.
    help_text = page.get_by_text("Den faktiske dagen pasienten møtte til konsultasjon")
    expect(help_text).to_be_hidden()
    page.locator("summary", has_text="Vis hjelp for Besøksdato").click()
    expect(help_text).to_be_visible()

    # Fill a few items, then "Ferdigstill": refused, the missing items are listed as links.
    page.locator("#input-S1b_DateOfCompletion").fill(today().isoformat())
    page.get_by_label("Lege", exact=True).check()
    page.get_by_role("button", name="Ferdigstill").first.click()
    summary = page.locator("#missing")
    expect(summary).to_be_visible()
    expect(summary).to_contain_text("Skjemaet kan ikke ferdigstilles.")
    expect(summary).to_be_focused()
    links = summary.get_by_role("link")
    assert links.count() > 5
    expect(summary.get_by_role("link", name="Hvilket helsepersonell")).to_have_count(0)
    # The list is under the patient name (the header), before the form.
    header_box = page.locator(".app-patient-header").bounding_box()
    summary_box = summary.bounding_box()
    assert header_box and summary_box and summary_box["y"] > header_box["y"]
    screenshot(page, "clinician-form-refused")

    # What was filled in is kept (saved as Kladd).
    expect(page.locator("#input-S1b_DateOfCompletion")).to_have_value(today().isoformat())
    expect(page.get_by_label("Lege", exact=True)).to_be_checked()
    stored = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    assert stored.status == FormStatus.KLADD
    assert stored.answers["S1b_DateOfCompletion"] == today().isoformat()

    # A link jumps to its item: the URL gets its anchor and the item is on screen.
    diagnosis_link = summary.get_by_role("link", name=re.compile("Diagnose 1"))
    diagnosis_link.click()
    expect(page).to_have_url(re.compile(r"#item-DiagnosticNumber1$"))
    target = page.locator("#item-DiagnosticNumber1")
    expect(target).to_be_in_viewport()
    _assert_not_under_sticky_actions(page, "#item-DiagnosticNumber1")
    screenshot(page, "clinician-form-jump")

    # The diagnosis picker: search "lumbago", choose M54.5.
    search = page.get_by_label("Søk etter diagnose (kode eller tekst)").first
    search.fill("lumbago")
    choice = page.locator("#results-DiagnosticNumber1").get_by_role(
        "button", name=re.compile(r"^M54\.5 Lumbago")
    )
    expect(choice).to_contain_text("Lumbago")
    choice.click()
    expect(page.locator("#input-DiagnosticNumber1")).to_have_value("M54.5")
    expect(page.locator("#item-DiagnosticNumber1-name")).to_contain_text("Lumbago")

    # Fill everything, "Ferdigstill": completed and read-only.
    fill_every_mandatory_item(page)
    screenshot(page, "clinician-form-filled")
    page.get_by_role("button", name="Ferdigstill").first.click()
    expect(
        page.get_by_text("Behandlerskjema er ferdigstilt og lagret i registeret.")
    ).to_be_visible()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Behandlerskjema"))
    expect(row).to_contain_text("Ferdigstilt")
    expect(row.get_by_role("link", name="Fyll ut skjema")).to_have_count(0)

    page.get_by_role("link", name="Behandlerskjema", exact=True).click()
    expect(page.locator(".app-row .ds-tag")).to_have_text("Ferdigstilt")
    expect(page.get_by_role("link", name="Fyll ut skjema")).to_have_count(0)
    expect(page.get_by_text("M54.5 – Lumbago")).to_be_visible()
    screenshot(page, "clinician-form-completed")
    page.goto(f"/skjema/{stored.pk}/fyll-ut/")
    expect(page.get_by_text("Skjemaet er ferdigstilt og kan bare leses.")).to_be_visible()
    expect(page.locator("form.app-questionnaire")).to_have_count(0)

    stored.refresh_from_db()
    assert stored.status == FormStatus.FERDIGSTILT
    assert stored.answers["DiagnosticNumber1"] == "M545"
    assert stored.answers["DiagnosticNumber1Type"] == 20
    # The patient has not consented (no pre-treatment form), so no follow-ups are planned.
    assert not Order.objects.filter(course=course, kind__in=["2", "3"]).exists()


def _assert_not_under_sticky_actions(page: Page, selector: str) -> None:
    """The sticky "Avslutt skjemautfylling / Ferdigstill" bar must not cover the item's top."""
    bar = page.locator(".app-sticky-actions").bounding_box()
    item = page.locator(selector).bounding_box()
    assert bar and item
    assert item["y"] >= bar["y"] + bar["height"] - 1, (bar, item)


def test_unrelated_diagnose_1_warns_when_chosen_and_ferdigstill_asks_to_confirm(
    new_page: NewPage,
) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Frida Fibromyalgi")
    course = book(egil, patient)
    page = new_page("desktop")
    login(page)
    stored = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    page.goto(f"/skjema/{stored.pk}/fyll-ut/")

    # Choosing M79.7 in the picker warns at once, before any save.
    warning = page.locator("#item-DiagnosticNumber1-warning")
    expect(warning).to_have_count(0)
    search = page.get_by_label("Søk etter diagnose (kode eller tekst)").first
    search.fill("M79.7")
    page.locator("#results-DiagnosticNumber1").get_by_role(
        "button", name=re.compile(r"^M79\.7 ")
    ).click()
    expect(warning).to_contain_text("ikke klassifisert som nakke- eller ryggrelatert")
    screenshot(page, "clinician-form-unrelated-warning")

    # Changing to a related code typed by hand takes the warning away.
    code = page.locator("#input-DiagnosticNumber1")
    code.fill("m54.96")
    code.dispatch_event("change")
    expect(page.locator("#item-DiagnosticNumber1-name")).to_contain_text(
        "Uspesifisert ryggsmerte;lumbal"
    )
    expect(warning).to_have_count(0)
    code.fill("M79.7")
    code.dispatch_event("change")
    expect(warning).to_be_visible()

    # Ferdigstill asks for an explicit confirmation that names the consequence.
    fill_every_mandatory_item(page, diagnosis="M79.7")
    page.get_by_role("button", name="Ferdigstill").first.click()
    confirm = page.locator("#confirm-unrelated")
    expect(confirm).to_be_visible()
    expect(confirm).to_contain_text("skal pasienten slettes fra registeret")
    stored.refresh_from_db()
    assert stored.status == FormStatus.KLADD
    page.get_by_role("button", name="Ferdigstill likevel").click()
    expect(
        page.get_by_text("Behandlerskjema er ferdigstilt og lagret i registeret.")
    ).to_be_visible()
    stored.refresh_from_db()
    assert stored.status == FormStatus.FERDIGSTILT
    assert stored.answers["DiagnosticNumber1"] == "M797"


def test_the_group_a_code_is_picked_under_is_stored(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Gro Gruppevalg")
    course = book(egil, patient)
    page = new_page("desktop")
    login(page)
    stored = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    page.goto(f"/skjema/{stored.pk}/fyll-ut/")
    item = page.locator("#item-DiagnosticNumber1")
    item.locator("summary", has_text="Velg fra NNRR-gruppene").click()
    group = item.locator("summary", has_text="Cervical radiculopati")
    group.click()
    item.get_by_role("button", name=re.compile(r"^M47\.2 ")).click()
    expect(page.locator("#type-DiagnosticNumber1")).to_have_value("11")
    expect(page.locator("#item-DiagnosticNumber1-name")).to_contain_text("M47.2")
    page.get_by_role("button", name="Avslutt skjemautfylling").first.click()
    expect(page.get_by_text("Skjemaet er lagret i kladd.")).to_be_visible()
    stored.refresh_from_db()
    assert stored.answers["DiagnosticNumber1"] == "M472"
    assert stored.answers["DiagnosticNumber1Type"] == 11


def _draft_with_m797(egil: Persona, name: str) -> Response:
    """A Behandlerskjema in Kladd with every mandatory item answered and Diagnose 1 = M79.7."""
    course = book(egil, make_patient(ST_OLAVS, name=name))
    draft = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    definition = get_definition(FormKind.CLINICIAN)
    answers = complete_answers(definition, visit=today())
    answers["DiagnosticNumber1"] = "M79.7"
    parsed = parse_submission(definition, as_post(answers))
    assert parsed.ok, parsed.errors
    return form_services.save_draft(
        actor=egil.actor,
        response=draft,
        answers=parsed.answers,
        expected_version=draft.version,
        now=timezone.now(),
    )


def _warn_then_correct_to_m545(page: Page, draft: Response) -> None:
    """M79.7 → «Ferdigstill» → the warning → «Endre diagnose 1» → type M54.5."""
    page.goto(f"/skjema/{draft.pk}/fyll-ut/")
    page.get_by_role("button", name="Ferdigstill", exact=True).first.click()
    confirm = page.locator("#confirm-unrelated")
    expect(confirm).to_contain_text("Diagnose 1 er M79.7")
    expect(confirm.get_by_role("button", name="Ferdigstill likevel")).to_be_visible()
    confirm.get_by_role("link", name="Endre diagnose 1").click()
    expect(page).to_have_url(re.compile(r"#item-DiagnosticNumber1$"))
    page.locator("#input-DiagnosticNumber1").fill("M54.5")


def test_correcting_diagnose_1_after_the_warning_withdraws_ferdigstill_likevel(
    new_page: NewPage,
) -> None:
    draft = _draft_with_m797(egil_larsen(), "Wenche Varsel")
    page = new_page("desktop", bypass_csp=True)
    login(page)
    _warn_then_correct_to_m545(page, draft)
    assert not axe(page), describe_violations(axe(page))
    page.locator("#input-DiagnosticNumber1").dispatch_event("change")
    expect(page.locator("#item-DiagnosticNumber1-name")).to_contain_text("Lumbago")

    # The confirmation was for M79.7: it is withdrawn the moment the answer changes.
    confirm = page.locator("#confirm-unrelated")
    expect(confirm.get_by_role("button", name="Ferdigstill likevel")).to_have_count(0)
    expect(confirm).to_contain_text("«Ferdigstill likevel» er trukket tilbake")
    violations = axe(page)
    assert not violations, describe_violations(violations)
    screenshot(page, "clinician-form-confirmation-withdrawn")
    page.get_by_role("button", name="Ferdigstill", exact=True).first.click()
    expect(
        page.get_by_text("Behandlerskjema er ferdigstilt og lagret i registeret.")
    ).to_be_visible()
    expect(page.get_by_text("Meld fra til lokal registeransvarlig")).to_have_count(0)
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M545"


def test_ferdigstill_likevel_clicked_after_correcting_diagnose_1_completes_what_is_on_screen(
    new_page: NewPage,
) -> None:
    """The exact fault: the red «Ferdigstill likevel» still at the top after M79.7 was corrected
    to M54.5 (a browser without JavaScript keeps the button): M54.5 is what is completed."""
    draft = _draft_with_m797(egil_larsen(), "Kjell Korrigert")
    page = new_page("desktop", java_script_enabled=False)
    login(page)
    _warn_then_correct_to_m545(page, draft)
    page.get_by_role("button", name="Ferdigstill likevel").click()
    expect(
        page.get_by_text("Behandlerskjema er ferdigstilt og lagret i registeret.")
    ).to_be_visible()
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M545"
    assert draft.answers["DiagnosticNumber1Name"] == "Lumbago"


def test_an_answer_survives_leaving_the_behandlerskjema_at_once(new_page: NewPage) -> None:
    """Answer, click «Hjem» straight away (before the typing pause that saves): the answer is
    saved on the way out, and is there when the form is opened again."""
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Lars Lagre")
    course = book(egil, patient)
    draft = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    page = new_page("desktop")
    login(page)
    page.goto(f"/skjema/{draft.pk}/fyll-ut/")
    page.get_by_label("Lege", exact=True).check()
    page.locator("#input-S1b_DateOfCompletion").fill(today().isoformat())
    page.get_by_role("link", name="Hjem", exact=True).click()
    expect(page).to_have_url(re.compile(r"://[^/]+/$"))
    expect(page.get_by_role("heading", level=1, name=ST_OLAVS_NAME)).to_be_visible()

    page.goto(f"/pasient/{patient.pk}/")
    page.get_by_role("link", name="Fyll ut skjema").click()
    expect(page.get_by_label("Lege", exact=True)).to_be_checked()
    expect(page.locator("#input-S1b_DateOfCompletion")).to_have_value(today().isoformat())
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD
    assert draft.answers["TreatmentEvaluationByDoctor"] is True


def test_the_behandlerskjema_saves_as_the_user_types_and_says_when(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Tone Taster")
    course = book(egil, patient)
    draft = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    page = new_page("desktop")
    login(page)
    page.goto(f"/skjema/{draft.pk}/fyll-ut/")
    status = page.locator("#autosave-status")
    expect(status).to_have_text("")
    page.locator("#input-DiagnosticNumber1").fill("M54.5")
    expect(status).to_have_text(re.compile(r"^Lagret kl\. \d\d:\d\d$"))
    draft.refresh_from_db()
    assert draft.answers["DiagnosticNumber1"] == "M545"
    screenshot(page, "clinician-form-autosaved")

    # Saved twice more as the user goes on, then «Avslutt skjemautfylling»: no conflict with
    # the page's own saves.
    page.get_by_label("Lege", exact=True).check()
    page.locator("#input-S1b_DateOfCompletion").fill(today().isoformat())
    page.get_by_role("button", name="Avslutt skjemautfylling").first.click()
    expect(page.get_by_text("Skjemaet er lagret i kladd.")).to_be_visible()
    draft.refresh_from_db()
    assert draft.answers["S1b_DateOfCompletion"] == today().isoformat()
    assert draft.answers["TreatmentEvaluationByDoctor"] is True

    # Leaving by the patient's name after the save: nothing is asked, nothing is lost.
    page.get_by_role("link", name="Fyll ut skjema").click()
    page.get_by_label("Fysioterapeut", exact=True).check()
    expect(status).to_have_text(re.compile(r"^Lagret kl\. "))
    page.locator(".app-patient-header").get_by_role("link", name="Tone Taster").click()
    expect(page.get_by_role("heading", level=1, name="Tone Taster")).to_be_visible()
    draft.refresh_from_db()
    assert draft.answers["TreatmentEvaluationByPhysiotherapist"] is True
