"""The messages a patient receives (``scheduling.dispatch.compose``), word for word."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.conftest import (
    ST_OLAVS,
    book,
    make_patient,
)


def _composed(persona: Any, kind: str) -> tuple[Any, str, str]:
    from nnrr.lib.dates import OSLO
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Message, Order

    course = book(persona("clerk"), make_patient(ST_OLAVS))
    order = Order.objects.filter(course=course).first()
    assert order is not None
    # One minute into 13 March in Oslo (23:01 on the 12th in UTC): 13 March is still open.
    order.expires_at = dt.datetime(2026, 3, 13, 0, 1, tzinfo=OSLO)
    message = Message(order=order, kind=kind, key=f"{order.pk}-{kind}")
    outgoing = dispatch.compose(message, order, "pasient@example.no")
    assert (outgoing.key, outgoing.to) == (message.key, "pasient@example.no")
    return order, outgoing.subject, outgoing.body


def _expected_body(opening: str, link: str) -> str:
    return "\n".join(
        [
            "Hei,",
            "",
            opening,
            "Svarene dine hjelper sykehuset å vurdere og forbedre behandlingen.",
            "",
            "Åpne lenken for å svare:",
            link,
            "",
            "Du logger inn med fødselsdatoen din (dd.mm.åååå).",
            "Svarfrist: 13.03.2026.",
            "",
            "Har du spørsmål, ta kontakt med poliklinikken. Denne meldingen er sendt automatisk "
            "og kan ikke besvares.",
            "",
            "St. Olavs hospital HF asks you to answer a questionnaire before your appointment at "
            "the clinic. Open the link above and log in with your date of birth.",
        ]
    )


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_invitation_reads_word_for_word_in_norwegian(persona: Any, language: str) -> None:
    """Whatever language the worker runs under, the patient gets the registry's Norwegian text,
    naming the hospital that sends it and why in one sentence, with the last day to answer as a
    date in Oslo."""
    from django.utils.translation import override

    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    with override(language):
        order, subject, body = _composed(persona, MessageKind.INVITATION)
    assert subject == "Spørreskjema fra St. Olavs hospital HF"
    assert body == _expected_body(
        "St. Olavs hospital HF ber deg svare på et spørreskjema før timen din ved poliklinikken.",
        dispatch.portal_link(order),
    )


def test_the_reminder_reads_word_for_word(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    order, subject, body = _composed(persona, MessageKind.REMINDER)
    assert subject == "Påminnelse: spørreskjema fra St. Olavs hospital HF"
    assert body == _expected_body(
        "Påminnelse: St. Olavs hospital HF ber deg svare på et spørreskjema før timen din ved "
        "poliklinikken.",
        dispatch.portal_link(order),
    )


def test_a_follow_up_message_says_how_long_since_the_clinic(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Message, MessageKind

    order, _subject, _body = _composed(persona, MessageKind.INVITATION)
    order.kind = "2"
    message = Message(order=order, kind=MessageKind.INVITATION, key="follow-up")
    body = dispatch.compose(message, order, "pasient@example.no").body
    assert (
        "St. Olavs hospital HF ber deg svare på et spørreskjema nå som det har gått 6 måneder "
        "siden du var på poliklinikken." in body.splitlines()
    )
