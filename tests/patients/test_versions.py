"""Optimistic locking holds: every write bumps the version the database holds (never a stale
copy of it), and a save that does not say which version it read is a conflict."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.patients.services import change_owner
from nnrr.questionnaires.models import FormKind, Response
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import ST_OLAVS, book, make_patient


def test_owner_change_from_a_stale_copy_still_bumps_the_version(persona: Any) -> None:
    """Two "Endre eier" from pages opened at the same time: the second must not write back the
    version the first one produced, or a third person's save at that version would pass."""
    clerk, clinician = persona("clerk"), persona("clinician")
    course = book(clerk, make_patient(ST_OLAVS))
    stale = Course.objects.get(pk=course.pk)
    change_owner(actor=clerk.actor, course=Course.objects.get(pk=course.pk), owner=clinician.user)
    change_owner(actor=clerk.actor, course=stale, owner=clerk.user)
    assert Course.objects.get(pk=course.pk).version == 3
    assert stale.version == 3  # the caller's copy is the database's, not a guess


def test_deleting_a_course_from_a_stale_copy_bumps_the_version(persona: Any) -> None:
    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS))
    stale = Course.objects.select_related("patient", "unit").get(pk=course.pk)
    change_owner(actor=clerk.actor, course=Course.objects.get(pk=course.pk), owner=clerk.user)
    scheduling.delete_course(
        actor=clerk.actor, course=stale, reason="ikke møtt", now=timezone.now()
    )
    assert Course.objects.get(pk=course.pk).version == 3


def test_closing_and_answering_an_order_from_stale_copies_bumps_its_version(
    persona: Any,
) -> None:
    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=40)
    order = Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    stale = Order.objects.get(pk=order.pk)
    Order.objects.filter(pk=order.pk).update(version=5)  # written by another process meanwhile
    response = Response.objects.create(course=course, kind=FormKind.PRE_TREATMENT)
    scheduling.mark_answered(order=stale, response=response, now=timezone.now())
    assert Order.objects.get(pk=order.pk).version == 6


def test_replanning_the_unsent_questionnaire_bumps_the_orders_version(persona: Any) -> None:
    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=40)
    order = Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    Order.objects.filter(pk=order.pk).update(version=7)
    today = oslo_date(timezone.now())
    scheduling.change_planned_date(
        actor=clerk.actor,
        course=course,
        referral_date=course.referral_date,
        planned_date=today + dt.timedelta(days=60),
        expected_version=course.version,
        now=timezone.now(),
    )
    assert Order.objects.get(pk=order.pk).version == 8


def test_a_date_edit_without_a_version_is_a_conflict_not_a_skipped_check(
    as_persona: Any, persona: Any
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=40)
    Course.objects.filter(pk=course.pk).update(version=4)  # someone else saved meanwhile
    new = oslo_date(timezone.now()) + dt.timedelta(days=70)
    response = as_persona("clerk").post(
        reverse("patients:course_dates", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": new.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "Noen andre har endret" in response.content.decode()
    course.refresh_from_db()
    assert course.planned_consultation_date != new
    assert course.version == 4


def test_a_version_beyond_any_column_is_refused_without_an_error(
    as_persona: Any, persona: Any
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=40)
    response = as_persona("clerk").post(
        reverse("patients:course_dates", args=[course.pk]),
        {
            "referral_date": course.referral_date.isoformat(),
            "planned_consultation_date": course.planned_consultation_date.isoformat(),
            "version": "9" * 40,
        },
    )
    assert response.status_code == 200
    assert Course.objects.get(pk=course.pk).version == 1


def test_saving_the_behandlerskjema_without_a_version_is_a_conflict(
    as_persona: Any, persona: Any
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=40)
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    response = as_persona("clerk").post(
        reverse("questionnaires:fill", args=[form.pk]),
        {"action": "save", "Treatment_Other": "lagret uten versjon"},
    )
    assert response.status_code == 409
    form.refresh_from_db()
    assert form.version == 1
    assert "Treatment_Other" not in form.answers
