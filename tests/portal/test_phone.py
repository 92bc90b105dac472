"""The patient's phone: date of birth typed as digits or with any usual separator, and back to a
saved questionnaire on the first page with a question not yet answered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.lib.dates import parse_birth_date
from nnrr.questionnaires.definitions import Condition, Item, Section, Text, get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.questionnaires.validation import (
    MAX_QUESTIONS_PER_PAGE,
    portal_pages,
    resume_step,
    split_section,
)
from nnrr.scheduling import services as scheduling
from tests.conftest import ST_OLAVS, Persona, book, make_patient
from tests.portal.test_portal import Ordered, enter


@pytest.fixture
def made(persona: Callable[[str], Persona]) -> Ordered:
    """A pre-treatment form handed over with the one-time code (as in test_portal.py)."""
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS, name="Pia Portal")
    course = book(clinician, patient, planned_in_days=20)
    new = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    return Ordered(order=new.order, code=new.code, patient=patient)


TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    "typed",
    ["15031975", "15.03.1975", "15 03 1975", "15/03/1975", " 15.03.1975 ", "15-03-1975",
     "1975-03-15", "15. 03. 1975", "15 03 19 75"],
)  # fmt: skip
def test_birth_date_formats(typed: str) -> None:
    assert parse_birth_date(typed, today=TODAY) == dt.date(1975, 3, 15)


@pytest.mark.parametrize(
    "typed",
    ["", "1503197", "150319755", "31021980", "15.13.1975", "15031899", "01012030", "abc",
     "١٥٠٣١٩٧٥", "15.03.75", "1" * 50],
)  # fmt: skip
def test_birth_date_nonsense_is_refused(typed: str) -> None:
    assert parse_birth_date(typed, today=TODAY) is None


@pytest.mark.parametrize("typed", ["17051975", "17 05 1975", "17/05/1975", "17.05.1975"])
def test_the_portal_takes_the_birth_date_in_every_format(made: Ordered, typed: str) -> None:
    response = enter(Client(), made.code, birth_date=typed)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:consent")


def test_the_birth_date_field_opens_a_keypad_that_can_type_it(made: Ordered) -> None:
    html = Client().get(reverse("portal:start")).content.decode()
    field = html.split('name="birth_date"', 1)[1].split(">", 1)[0]
    assert 'inputmode="numeric"' in field
    assert 'placeholder="ddmmåååå"' in field


def test_resume_step_is_the_first_page_with_an_unanswered_question() -> None:
    definition = get_definition("1a")
    assert resume_step(definition, {}) == 1
    first = definition.sections[0]
    answers = {item.id: item.codes[0].code if item.codes else 1 for item in first.items()
               if item.type in ("choice", "integer")}  # fmt: skip
    answers.update({item.id: False for item in first.items() if item.type == "boolean"})
    assert resume_step(definition, answers) in (1, 2)


def test_coming_back_opens_the_first_page_with_an_unanswered_item(made: Ordered) -> None:
    client = Client()
    enter(client, made.code)
    client.post(reverse("portal:consent"), {"consent": "1"})
    definition = get_definition("1a")
    page_one = definition.sections[0]
    # Answer every question of page 1, then "Lagre og fortsett senere" on page 2.
    data: dict[str, str] = {"action": "next"}
    for item in page_one.items():
        if item.type == "choice":
            data[item.id] = str(item.codes[0].code)
        elif item.type in ("integer", "decimal"):
            data[item.id] = str(int(item.minimum or 0))
    client.post(reverse("portal:section", args=[1]), data)
    client.post(reverse("portal:section", args=[2]), {"action": "later"})
    saved = type(made.order).objects.get(pk=made.order.pk).response
    assert saved is not None
    assert resume_step(definition, saved.answers) == 2

    again = Client()
    response = enter(again, made.code)
    assert response["Location"] == reverse("portal:section", args=[2])


# --- Pages of at most ten questions; resuming; taking an answer back ----------------------------


def _section(definition_kind: str, section_id: str) -> Section:
    return next(s for s in get_definition(definition_kind).sections if s.id == section_id)


def test_the_health_complaints_are_split_into_pages_of_at_most_ten() -> None:
    uhi = _section("1a", "uhi")
    assert len(uhi.elements) > 30
    pages = split_section(uhi)
    sizes = [len(page.elements) for page in pages]
    assert sizes == [9, 8, 8, 8]  # about equal parts, none over ten
    assert [page.part for page in pages] == [1, 2, 3, 4]
    assert {page.parts for page in pages} == {4}
    # Every complaint once, in the form's order.
    assert [e.id for page in pages for e in page.elements] == [e.id for e in uhi.elements]
    # A section of ten stays one page; the 32 regions of the pain drawing are one figure.
    assert len(split_section(_section("1a", "odi"))) == 1
    assert len(split_section(_section("1a", "pain_drawing"))) == 1
    pages_1a = portal_pages(get_definition("1a"), {})
    assert all(len(page.elements) <= MAX_QUESTIONS_PER_PAGE or page.parts == 1 for page in pages_1a)
    assert max(len(p.elements) for p in pages_1a if p.section.id != "pain_drawing") <= 10


def test_a_conditional_question_stays_on_the_page_of_the_question_it_depends_on() -> None:
    def choice(number: int, show_if: Condition | None = None) -> Item:
        return Item(id=f"Q{number}", type="choice", label=Text(f"Q{number}"), show_if=show_if)

    items = [choice(n) for n in range(1, 10)]
    items.append(choice(10, Condition(item="Q9", values=(1,))))
    items += [choice(n) for n in range(11, 13)]
    pages = split_section(Section(id="s", title=Text("S"), intro=Text(""), elements=tuple(items)))
    assert len(pages) == 2 and all(len(page.elements) <= 10 for page in pages)
    holding = [page for page in pages if "Q10" in page.element_ids]
    assert "Q9" in holding[0].element_ids


def _answered(section: Section) -> dict[str, object]:
    return {
        item.id: (item.codes[0].code if item.codes else int(item.minimum or 0))
        for item in section.items()
        if item.type in ("choice", "integer", "decimal")
    }


def test_an_optional_text_box_left_empty_does_not_send_the_patient_back() -> None:
    definition = get_definition("1a")
    answers: dict[str, object] = {}
    for section_id in ("background", "work", "pain"):
        answers.update(_answered(_section("1a", section_id)))
    answers["IsPainLowBack"] = True  # the pain drawing, page 4
    assert "PainCausesOther" not in answers  # «Andre årsaker» left empty on page 3
    odi = next(
        step
        for step, page in enumerate(portal_pages(definition, answers), start=1)
        if page.section.id == "odi"
    )
    assert resume_step(definition, answers) == odi
    # An unanswered choice on page 3 still sends her back there.
    answers.pop("Smoking")
    assert resume_step(definition, answers) == 3


def test_the_portal_shows_the_health_complaints_in_parts_and_keeps_each_parts_answers(
    made: Ordered,
) -> None:
    client = Client()
    enter(client, made.code)
    client.post(reverse("portal:consent"), {"consent": "1"})
    definition = get_definition("1a")
    pages = portal_pages(definition, {})
    steps = [step for step, page in enumerate(pages, start=1) if page.section.id == "uhi"]
    assert len(steps) == 4
    first, second = steps[0], steps[1]
    html = client.get(reverse("portal:section", args=[first])).content.decode()
    assert 'Helseplager (UHI) <span class="app-muted">(1 av 4)</span>' in html
    assert 'name="UhiQ1"' in html and 'name="UhiQ10"' not in html
    # Answers on part 2, then part 1 again: part 2's answers stay.
    second_ids = [e.id for e in pages[second - 1].elements]
    client.post(
        reverse("portal:section", args=[second]),
        {**dict.fromkeys(second_ids, "1"), "action": "next"},
    )
    client.post(reverse("portal:section", args=[first]), {"UhiQ1": "2", "action": "next"})
    saved = type(made.order).objects.get(pk=made.order.pk).response
    assert saved is not None
    assert saved.answers["UhiQ1"] == 2
    assert all(saved.answers[item] == 1 for item in second_ids)


def test_nothing_starts_ticked_and_an_answered_scale_can_be_taken_back(made: Ordered) -> None:
    client = Client()
    enter(client, made.code)
    client.post(reverse("portal:consent"), {"consent": "1"})
    definition = get_definition("1a")
    pages = portal_pages(definition, {})
    step = next(
        n for n, page in enumerate(pages, start=1) if "PainExperiencesActivity" in page.element_ids
    )
    url = reverse("portal:section", args=[step])
    html = client.get(url).content.decode()
    assert " checked" not in html.split('<form method="post" class="app-questionnaire"', 1)[1]
    # The 0–10 question has «Ikke besvart» to take an answer back.
    assert 'id="item-PainExperiencesActivity-none" value=""' in html
    client.post(url, {"PainExperiencesActivity": "7", "action": "later"})
    saved = type(made.order).objects.get(pk=made.order.pk).response
    assert saved is not None and saved.answers["PainExperiencesActivity"] == 7
    shown = client.get(url).content.decode()
    assert 'id="item-PainExperiencesActivity-7" value="7" checked' in shown
    assert 'id="item-PainExperiencesActivity-none" value="">' in shown  # not ticked
    client.post(url, {"PainExperiencesActivity": "", "action": "later"})
    saved.refresh_from_db()
    assert "PainExperiencesActivity" not in saved.answers
