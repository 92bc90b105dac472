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
            "You have received a questionnaire from the hospital. Open the link above and log in "
            "with your date of birth.",
        ]
    )


@pytest.mark.parametrize("language", ["nb", "en"])
def test_the_invitation_reads_word_for_word_in_norwegian(persona: Any, language: str) -> None:
    """Whatever language the worker runs under, the patient gets the registry's Norwegian text
    with the last day to answer as a date in Oslo."""
    from django.utils.translation import override

    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    with override(language):
        order, subject, body = _composed(persona, MessageKind.INVITATION)
    assert subject == "Spørreskjema fra sykehuset"
    assert body == _expected_body(
        "Du har fått et spørreskjema fra sykehuset. Svarene dine hjelper sykehuset å vurdere og "
        "forbedre behandlingen.",
        dispatch.portal_link(order),
    )


def test_the_reminder_reads_word_for_word(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import MessageKind

    order, subject, body = _composed(persona, MessageKind.REMINDER)
    assert subject == "Påminnelse: spørreskjema fra sykehuset"
    assert body == _expected_body(
        "Vi minner om spørreskjemaet du har fått fra sykehuset.", dispatch.portal_link(order)
    )
