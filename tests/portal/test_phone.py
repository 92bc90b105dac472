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
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.questionnaires.validation import resume_step
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
