"""The patient's phone at 390 px in Chromium: the birth date typed as digits, one Tab stop per
question to reach "Neste", no empty "?" buttons, the pain drawing's figure and list in sync both
ways with every region at least 24 × 24 CSS px, and back to the first unanswered page."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import services as scheduling
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
