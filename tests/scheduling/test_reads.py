"""The patient page's reads (``nnrr.scheduling.reads`` through ``access.patient_courses``): the
patient's courses at the unit only, newest planned first, each with its owner, its forms but the
deleted ones and its orders in order of creation, in three queries however many courses."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from nnrr import access
from nnrr.accounts.models import Unit, User
from nnrr.accounts.profiles import Profile
from nnrr.audit.context import Actor
from nnrr.patients.models import Course
from nnrr.patients.services import register_patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient

pytestmark = pytest.mark.django_db

FORM_FIELDS = ("pk", "course_id", "kind", "status", "created_at", "last_update")
ORDER_FIELDS = (
    "pk",
    "course_id",
    "kind",
    "state",
    "notify_self",
    "send_at",
    "sent_at",
    "remind_at",
    "reminded_at",
    "expires_at",
    "code_sealed",
    "code_used_at",
    "code_locked_at",
    "created_at",
)


def _values(obj: Any, fields: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(getattr(obj, name) for name in fields)


def test_patient_courses_match_the_orm(persona: Any) -> None:
    clinician, clerk = persona("clinician"), persona("clerk")
    patient = make_patient(ST_OLAVS, name="Tre Forløp")
    first = book(clinician, patient, planned_in_days=10)
    book(clerk, patient, planned_in_days=40)
    deleted = book(clinician, patient, planned_in_days=20)
    scheduling.delete_course(
        actor=clinician.actor, course=deleted, reason="Feil", now=timezone.now()
    )
    User.objects.filter(pk=clerk.user.pk).update(full_name="")  # str(user) is the username then
    # A deleted form is not shown.
    Response.objects.create(course=first, kind=FormKind.FOLLOW_UP_6, status=FormStatus.SLETTET)
    # The same person's record at another unit is not this unit's.
    bergen = register_patient(
        actor=Actor.system("test"),
        unit=Unit.objects.get(pk=HAUKELAND),
        national_id=patient.national_id,
        name=patient.name,
        email="",
    )
    book(persona("haukeland_clinician"), bergen)

    profile = Profile.from_membership(clinician.membership)
    got = access.patient_courses(profile, patient)
    expected = list(
        Course.objects.filter(unit_id=ST_OLAVS, patient=patient)
        .select_related("owner")
        .order_by("-planned_consultation_date", "-created_at")
    )
    assert [c.pk for c in got] == [c.pk for c in expected]
    assert len(got) == 3
    for course, orm in zip(got, expected, strict=True):
        assert course.status == orm.status
        assert course.planned_consultation_date == orm.planned_consultation_date
        assert str(course.owner) == str(orm.owner)
        forms = Response.objects.filter(course=orm).exclude(status=FormStatus.SLETTET)
        assert sorted(_values(f, FORM_FIELDS) for f in course.shown_forms) == sorted(
            _values(f, FORM_FIELDS) for f in forms
        )
        orders = Order.objects.filter(course=orm).order_by("created_at", "id")
        assert [_values(o, ORDER_FIELDS) for o in course.shown_orders] == [
            _values(o, ORDER_FIELDS) for o in orders
        ]
    assert any(course.shown_orders for course in got)
    assert all(f.created_at.tzinfo is not None for c in got for f in c.shown_forms)


def test_another_units_patient_has_no_courses_here(persona: Any) -> None:
    bergen = make_patient(HAUKELAND)
    book(persona("haukeland_clinician"), bergen)
    profile = Profile.from_membership(persona("clinician").membership)
    assert access.patient_courses(profile, bergen) == []


@pytest.mark.parametrize("courses", [1, 6])
def test_patient_courses_take_three_queries_however_many_courses(
    persona: Any, django_assert_num_queries: Any, courses: int
) -> None:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS)
    for days in range(courses):
        book(clinician, patient, planned_in_days=10 + days)
    profile = Profile.from_membership(clinician.membership)
    with django_assert_num_queries(3):
        got = access.patient_courses(profile, patient)
        # Reading what the page shows asks nothing more.
        assert [(str(c.owner), len(c.shown_forms), len(c.shown_orders)) for c in got]
