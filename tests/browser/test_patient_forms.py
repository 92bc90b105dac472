"""The patient forms (1a, 2, 3) keyed in by staff from paper, at phone and desktop width.

"Registrer papirskjema" renders a patient form through the same renderer as the portal. For the
pre-treatment form (1a) the consent is required: without it nothing is stored; with it the form
is stored and the summary shows the scores and the pain drawing (two body regions clicked on the
drawing), and "Journalnotat" → "Kopier til utklippstavle" copies the note.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Locator, Page, expect

from nnrr.audit.context import Actor
from nnrr.questionnaires.models import FormStatus, Response, Source
from nnrr.scheduling import services as scheduling
from tests.browser.conftest import ST_OLAVS_NAME, NewPage, egil_larsen, login, screenshot
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser

TITLES = {
    "1a": "Pasientskjema før behandling",
    "2": "Pasientskjema 6 måneder etter behandling",
    "3": "Pasientskjema 12 måneder etter behandling",
}


def answer_first_option_in(section: Locator) -> int:
    """Choose the first option of every radio question in ``section``; the number answered."""
    names = section.evaluate(
        "s => [...new Set([...s.querySelectorAll('input[type=radio]')].map(r => r.name))]"
    )
    for name in names:
        section.locator(f'input[type=radio][name="{name}"]').first.check()
    return len(names)


def _click(page: Page, target: Locator, size: str) -> None:
    """A tap on a phone, a click on a desktop."""
    if size == "phone":
        target.tap()
    else:
        target.click()


def _open_paper_form(page: Page, course_id: object, kind: str) -> Locator:
    page.goto(f"/forlop/{course_id}/papirskjema/{kind}/")
    heading = page.get_by_role("heading", level=2, name=f"Registrer papirskjema: {TITLES[kind]}")
    expect(heading).to_be_visible()
    form = page.locator("form.app-questionnaire")
    expect(form).to_be_visible()
    return form


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_pre_treatment_form_consent_pain_drawing_summary_and_journal_note(
    new_page: NewPage, size: str
) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Papir Pasientsen")
    course = book(egil, patient)
    page = new_page(size, permissions=["clipboard-read", "clipboard-write"])
    login(page)
    form = _open_paper_form(page, course.pk, "1a")
    screenshot(page, f"paper-1a-{size}", full_page=False)

    # Without the consent box: refused, nothing stored, the answers are kept on the page.
    answered = answer_first_option_in(page.locator("#section-odi"))
    assert answered == 10
    form.get_by_role("button", name="Registrer skjema").click()
    consent_error = page.locator("#consent-error")
    expect(consent_error).to_have_text(
        "Skjemaet kan ikke registreres uten samtykke. Ingen opplysninger er lagret."
    )
    expect(
        page.get_by_label("Pasienten har krysset av for samtykke på papirskjemaet")
    ).to_have_attribute("aria-describedby", "consent-error")
    assert not Response.objects.filter(course=course, kind="1a").exists()
    expect(page.locator("#section-odi input[type=radio]:checked")).to_have_count(10)

    # Two body regions clicked on the drawing tick their boxes (and show as selected).
    drawing = page.locator("[data-pain-drawing]")
    expect(drawing).to_be_visible()
    regions = drawing.locator("[data-region]")
    chosen = [regions.nth(0), regions.nth(5)]
    for region in chosen:
        box_id = region.get_attribute("data-region")
        _click(page, region, size)
        expect(page.locator(f"#{box_id}")).to_be_checked()
        expect(region).to_have_class(re.compile(r"\bis-selected\b"))
    expect(page.locator(".app-pain-list input[type=checkbox]:checked")).to_have_count(2)
    labels = [r.locator("title").text_content() for r in chosen]
    # And the other way: ticking a box in the list marks the figure.
    third = regions.nth(9)
    page.locator(f"#{third.get_attribute('data-region')}").check()
    expect(third).to_have_class(re.compile(r"\bis-selected\b"))
    page.locator(f"#{third.get_attribute('data-region')}").uncheck()
    expect(third).not_to_have_class(re.compile(r"\bis-selected\b"))

    if size == "phone":
        # Each 0–10 scale fits on one line (a lone "10" on a second line reads as another answer).
        for scale in page.locator(".app-scale").all():
            tops = scale.locator(".app-scale__option").evaluate_all(
                "options => options.map(o => Math.round(o.getBoundingClientRect().top))"
            )
            assert len(set(tops)) == 1, tops
    screenshot(page, f"paper-1a-drawing-{size}", full_page=False)

    # With consent: stored, and the summary shows the scores and the drawing.
    page.get_by_label("Pasienten har krysset av for samtykke på papirskjemaet").check()
    form.get_by_role("button", name="Registrer skjema").click()
    expect(page.get_by_text("Papirskjemaet er registrert.")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=TITLES["1a"])).to_be_visible()
    summary = page.locator("section.app-summary")
    expect(summary.get_by_role("heading", name="Oppsummering")).to_be_visible()
    expect(summary.get_by_role("row").filter(has_text="ODI")).to_have_count(1)
    expect(summary.locator(".app-region.is-selected")).to_have_count(2)
    for label in labels:
        expect(summary).to_contain_text(str(label))
    screenshot(page, f"summary-1a-{size}")

    stored = Response.objects.get(course=course, kind="1a")
    assert stored.status == FormStatus.FERDIGSTILT
    assert stored.consent is True and stored.source == Source.PAPER
    assert stored.scores.get("odi") is not None or any("odi" in k.lower() for k in stored.scores)

    # "Journalnotat" → "Kopier til utklippstavle".
    page.get_by_role("link", name="Journalnotat").click()
    expect(page.get_by_role("heading", name="Journalnotat")).to_be_visible()
    page.get_by_role("button", name="Kopier til utklippstavle").click()
    expect(page.locator("#copy-status")).to_have_text("Kopiert til utklippstavlen")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert "ODI" in copied
    assert copied == page.get_by_label("Tekst").input_value()
    screenshot(page, f"journal-{size}")


@pytest.mark.parametrize("size", ["phone", "desktop"])
@pytest.mark.parametrize("kind", ["2", "3"])
def test_follow_up_form_renders_and_submits(new_page: NewPage, size: str, kind: str) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Oppfølging Olsen")
    course = book(egil, patient)
    # A follow-up is only keyed in for a course whose pre-treatment form carries consent.
    scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind="1a",
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )
    page = new_page(size)
    login(page)
    form = _open_paper_form(page, course.pk, kind)
    expect(page.locator("#section-consent")).to_have_count(0)
    screenshot(page, f"paper-{kind}-{size}", full_page=False)

    assert answer_first_option_in(page.locator("#section-odi")) == 10
    answer_first_option_in(page.locator("#section-benefit"))
    form.get_by_role("button", name="Registrer skjema").click()

    expect(page.get_by_text("Papirskjemaet er registrert.")).to_be_visible()
    expect(page.get_by_role("heading", level=2, name=TITLES[kind])).to_be_visible()
    expect(page.locator(".app-row .ds-tag")).to_have_text("Ferdigstilt")
    summary = page.locator("section.app-summary")
    scores = summary.get_by_role("table", name="Skårer")
    expect(scores.get_by_role("row").filter(has_text="ODI")).to_have_count(1)
    # With the consented pre-treatment form in the course, the change from it is shown too.
    changes = summary.get_by_role("table", name="Endring fra før behandling")
    expect(changes.get_by_role("row").filter(has_text="ODI")).to_have_count(1)
    stored = Response.objects.get(course=course, kind=kind)
    assert stored.status == FormStatus.FERDIGSTILT and stored.source == Source.PAPER
    assert stored.answers["OdiPain"] is not None


def test_leaving_the_paper_entry_page_with_answers_asks_first(new_page: NewPage) -> None:
    """Keying in a paper form, a click on «Hjem» would throw the answers away: the browser asks
    first; staying keeps them, and «Registrer skjema» leaves without asking."""
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Ulla Ulagret")
    course = book(egil, patient)
    page = new_page("desktop")
    login(page)
    form = _open_paper_form(page, course.pk, "1a")
    asked: list[str] = []

    def stay(dialog: Any) -> None:
        asked.append(dialog.type)
        dialog.dismiss()

    # Nothing typed yet: no question.
    page.get_by_role("link", name="Hjem", exact=True).click()
    expect(page.get_by_role("heading", level=1, name=ST_OLAVS_NAME)).to_be_visible()
    assert asked == []

    form = _open_paper_form(page, course.pk, "1a")
    page.once("dialog", stay)
    answer_first_option_in(page.locator("#section-odi"))
    page.get_by_role("link", name="Hjem", exact=True).click()
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/papirskjema/1a/$"))
    first = page.locator("#section-odi input[type=radio]").first
    expect(first).to_be_checked()

    page.get_by_label("Pasienten har krysset av for samtykke på papirskjemaet").check()
    form.get_by_role("button", name="Registrer skjema").click()
    expect(page.get_by_text("Papirskjemaet er registrert.")).to_be_visible()
    assert asked == ["beforeunload"]
    assert Response.objects.filter(course=course, kind="1a", source=Source.PAPER).exists()
