"""The patient's phone at 390 px in Chromium: the birth date typed as digits, one Tab stop per
question to reach "Neste", no empty "?" buttons, the pain drawing's figure and list in sync both
ways with every region at least 24 × 24 CSS px, and back to the first unanswered page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from nnrr.audit.context import Actor
from nnrr.patients.models import Patient
from nnrr.portal import services as portal_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.questionnaires.validation import portal_pages
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.browser.conftest import NewPage, egil_larsen, screenshot
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser

# The questions of the visible page: a radio group is one question, a checkbox one, any other
# field one.
_QUESTIONS_JS = """
form => {
  const visible = el => el.offsetParent !== null;
  const fields = [...form.querySelectorAll('input, textarea, select')]
    .filter(el => el.type !== 'hidden' && visible(el));
  const radios = new Set(fields.filter(f => f.type === 'radio').map(f => f.name));
  return radios.size + fields.filter(f => f.type !== 'radio').length;
}
"""


def enter_portal(page: Page) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Mona Mobil")
    course = book(egil, patient)
    new = scheduling.order_questionnaire(
        actor=egil.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    page.goto("/eprom/")
    page.get_by_label("Engangskode").fill(new.code)
    page.get_by_label("Fødselsdato").fill(patient.birth_date.strftime("%d%m%Y"))  # digits only
    page.get_by_role("button", name="Logg inn").click()
    page.get_by_label(re.compile("Jeg samtykker til å delta")).check()
    page.get_by_role("button", name="Fortsett").click()
    expect(page).to_have_url(re.compile(r"/eprom/skjema/1/$"))
    return None


# The questions of the visible page as the patient sees them: an item, or a group of tick boxes.
_ITEMS_JS = """
form => [...form.querySelectorAll('.app-item')].filter(el => el.offsetParent !== null).length
"""


def tab_stops_to_next(page: Page) -> int:
    """Tab presses from the first field of the form until "Neste" has the focus."""
    page.evaluate(
        """() => {
          const form = document.querySelector('form.app-questionnaire');
          const first = [...form.querySelectorAll('input, textarea, select, summary')]
            .find(el => el.type !== 'hidden' && el.offsetParent !== null);
          const checked = first.type === 'radio'
            && form.querySelector(`input[name="${first.name}"]:checked`);
          (checked || first).focus();
        }"""
    )
    for stops in range(1, 400):
        if page.evaluate("() => document.activeElement.value === 'next'"):
            return stops
        page.keyboard.press("Tab")
    raise AssertionError("Neste was never reached with Tab")


def test_phone_pages_tab_stops_help_buttons_and_pain_drawing(new_page: NewPage) -> None:
    page = new_page("phone")
    enter_portal(page)
    seen_drawing = False
    for _step in range(1, 20):
        if not re.search(r"/eprom/skjema/\d+/$", page.url):
            break
        form = page.locator("form.app-questionnaire")
        # No empty "?" button: on the phone a help text stands under its question.
        assert form.locator("details.app-help").count() == 0
        for hint in form.locator(".app-hint").all():
            assert hint.inner_text().strip()
        questions = form.evaluate(_QUESTIONS_JS)
        stops = tab_stops_to_next(page)
        assert stops <= questions + 1, (page.url, stops, questions)  # +1: "Neste" itself

        drawing = page.locator("[data-pain-drawing]")
        if drawing.count() and drawing.is_visible():
            seen_drawing = True
            sizes = drawing.locator("[data-region]").evaluate_all(
                "rs => rs.map(r => { const b = r.getBoundingClientRect();"
                " return [r.getAttribute('data-region'), b.width, b.height]; })"
            )
            assert len(sizes) == 32
            small = [(name, w, h) for name, w, h in sizes if w < 24 or h < 24]
            assert not small, small
            # No sideways scroll at 390 px.
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
            region = drawing.locator("[data-region='input-IsPainNeckBack']")
            box = page.locator("#input-IsPainNeckBack")
            region.tap()
            expect(box).to_be_checked()
            expect(region).to_have_class(re.compile(r"\bis-selected\b"))
            box.uncheck()
            expect(region).not_to_have_class(re.compile(r"\bis-selected\b"))
            page.locator("#input-IsPainLowBack").check()
            expect(drawing.locator("[data-region='input-IsPainLowBack']")).to_have_class(
                re.compile(r"\bis-selected\b")
            )
            screenshot(page, "phone-pain-drawing")
        page.get_by_role("button", name="Neste").click()
    assert seen_drawing


def _order(name: str) -> tuple[Order, str, Patient]:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name=name)
    course = book(egil, patient)
    new = scheduling.order_questionnaire(
        actor=egil.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    return new.order, new.code, patient


def _enter(page: Page, code: str, patient: Patient) -> None:
    page.goto("/eprom/")
    page.get_by_label("Engangskode").fill(code)
    page.get_by_label("Fødselsdato").fill(patient.birth_date.strftime("%d%m%Y"))
    page.get_by_role("button", name="Logg inn").click()


def _step_of(order: Order, section_id: str, element_id: str | None = None) -> int:
    pages = portal_pages(get_definition(order.kind), {})
    return next(
        step
        for step, page in enumerate(pages, start=1)
        if page.section.id == section_id and (element_id is None or element_id in page.element_ids)
    )


def test_phone_pages_start_unticked_answers_can_be_taken_back_and_long_pages_are_split(
    new_page: NewPage,
) -> None:
    order, code, patient = _order("Ragnhild Rydd")
    page = new_page("phone")
    _enter(page, code, patient)
    page.get_by_label(re.compile("Jeg samtykker til å delta")).check()
    page.get_by_role("button", name="Fortsett").click()

    # Every page: nothing ticked before the patient has answered, at most ten questions.
    seen_parts = []
    for step in range(1, 30):
        if not re.search(r"/eprom/skjema/\d+/$", page.url):
            break
        form = page.locator("form.app-questionnaire")
        assert form.locator("input:checked").count() == 0, page.url
        heading = form.locator("h2").first.inner_text()
        if not page.locator("[data-pain-drawing]").is_visible():
            assert form.evaluate(_ITEMS_JS) <= 10, (heading, page.url)
        if heading.startswith("Helseplager (UHI)"):
            seen_parts.append(heading)
        page.get_by_role("button", name="Neste").click()
        page.wait_for_url(re.compile(rf"/eprom/(skjema/{step + 1}|send-inn)/$"))
    assert seen_parts == [f"Helseplager (UHI) ({n} av 4)" for n in range(1, 5)]

    # A 0–10 answer is taken back with «Ikke besvart», and stays taken back.
    step = _step_of(order, "pain", "PainExperiencesActivity")
    page.goto(f"/eprom/skjema/{step}/")
    item = page.locator("#item-PainExperiencesActivity")
    item.get_by_label("7", exact=True).check()
    page.get_by_role("button", name="Lagre og fortsett senere").click()
    expect(page.get_by_role("heading", name="Svarene dine er lagret")).to_be_visible()
    page.goto(f"/eprom/skjema/{step}/")
    expect(item.get_by_label("7", exact=True)).to_be_checked()
    item.get_by_label("Ikke besvart").check()
    page.get_by_role("button", name="Neste").click()
    page.get_by_role("button", name="Forrige").click()
    expect(page).to_have_url(re.compile(rf"/eprom/skjema/{step}/$"))
    expect(item.locator("input:checked")).to_have_count(0)
    order.refresh_from_db()
    assert order.response is not None
    assert "PainExperiencesActivity" not in order.response.answers

    # The pain drawing is explained once.
    page.goto(f"/eprom/skjema/{_step_of(order, 'pain_drawing')}/")
    drawing_section = page.locator("#section-pain_drawing")
    expect(drawing_section.get_by_text(re.compile(r"^Marker alle steder"))).to_have_count(1)
    assert drawing_section.inner_text().count("Trykk på") == 1
    screenshot(page, "phone-pain-drawing-instructions")


def test_coming_back_skips_an_empty_optional_text_box(new_page: NewPage) -> None:
    """Pages 1–3 answered except the optional «Andre årsaker», and the pain drawing: coming
    back opens the first page with a question asked for (the ODI), not page 3."""
    order, code, patient = _order("Solveig Senere")
    page = new_page("phone")
    _enter(page, code, patient)
    page.get_by_label(re.compile("Jeg samtykker til å delta")).check()
    page.get_by_role("button", name="Fortsett").click()
    definition = get_definition(order.kind)
    answers: dict[str, object] = {"IsPainLowBack": True}
    for section in definition.sections[:3]:
        for item in section.items():
            if item.type == "choice":
                answers[item.id] = item.codes[0].code
            elif item.type in ("integer", "decimal"):
                answers[item.id] = int(item.minimum or 0)
    # Saved as if she had answered them and pressed «Lagre og fortsett senere».
    portal_services.save_section(
        actor=Actor.system("test"), order=order, answers=answers, now=timezone.now()
    )

    again = new_page("phone")
    _enter(again, code, patient)
    expect(again).to_have_url(re.compile(rf"/eprom/skjema/{_step_of(order, 'odi')}/$"))
    expect(again.get_by_role("heading", name="Ryggen og hverdagen (ODI)")).to_be_visible()
