"""The maintained marker of open pre-treatment orders (worklists.WaitingOrder) always holds
exactly the orders "Pasienter uten informasjon om samtykke" is defined by, whatever wrote the
rows: services, ORM ``update()``, bulk loads, deletes. The list is counted and paged on it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

from django.utils import timezone

from nnrr.demo.bulk import seed
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling.models import OPEN_STATES, Order, OrderState
from nnrr.worklists.models import WaitingOrder
from tests.conftest import HAUKELAND, ST_OLAVS, Persona, book, make_patient


def by_definition() -> set[tuple[object, ...]]:
    """Open pre-treatment orders with their course's unit and dates, for every unit at once."""
    return set(
        Order.objects.filter(kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES).values_list(
            "pk", "course__unit_id", "course__planned_consultation_date", "course__created_at"
        )
    )


def marked() -> set[tuple[object, ...]]:
    return set(
        WaitingOrder.objects.values_list(
            "order_id", "unit_id", "planned_consultation_date", "created_at"
        )
    )


def test_bulk_loaded_orders_are_marked_exactly_as_the_definition_finds(db: None) -> None:
    seed(scale=300, now=timezone.now(), out=io.StringIO(), answers=False)

    expected = by_definition()
    assert expected  # the seed has booked courses whose patients have not answered yet
    assert marked() == expected


def test_every_change_of_order_or_course_keeps_the_marker_right(
    persona: Callable[[str], Persona],
) -> None:
    clinician = persona("clinician")
    course = book(clinician, make_patient(ST_OLAVS), planned_in_days=30)
    other = book(clinician, make_patient(ST_OLAVS, name="Kari Annen"), planned_in_days=40)
    order = Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    assert {row[0] for row in marked()} == {
        order.pk,
        Order.objects.get(course=other, kind=FormKind.PRE_TREATMENT).pk,
    }

    steps: list[Callable[[], object]] = [
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.SENT),
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.REMINDED),
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.ANSWERED),
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.SENT),
        lambda: Course.objects.filter(pk=course.pk).update(
            planned_consultation_date=dt.date(2031, 3, 4)
        ),
        lambda: Course.objects.filter(pk=course.pk).update(unit_id=HAUKELAND),
        lambda: Order.objects.filter(pk=order.pk).update(kind=FormKind.FOLLOW_UP_6),
        lambda: Order.objects.filter(pk=order.pk).update(kind=FormKind.PRE_TREATMENT),
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.EXPIRED),
        lambda: Order.objects.filter(pk=order.pk).update(state=OrderState.PLANNED),
        lambda: Order.objects.filter(pk=order.pk).delete(),
        lambda: Course.objects.filter(pk=other.pk).delete(),
    ]
    seen = []
    for step in steps:
        step()
        assert marked() == by_definition()
        seen.append(len(marked()))
    # The steps did move the mark in and out, not leave it where it was.
    assert seen == [2, 2, 1, 2, 2, 2, 1, 2, 1, 2, 1, 0]
