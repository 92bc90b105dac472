"""The maintained marker of unfinished Behandlerskjema (worklists.UnfinishedCourse) always holds
exactly the courses the worklists' own definition finds, whatever wrote the rows: services, ORM
``update()``, bulk loads, deletes. The front page and worklist counts are read from it."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from nnrr import access
from nnrr.accounts.profiles import Profile
from nnrr.demo.bulk import seed
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormStatus, Response, course_unfinished
from nnrr.scheduling import services as scheduling
from nnrr.worklists.models import UnfinishedCourse
from tests.conftest import (
    HAUKELAND,
    ST_OLAVS,
    Persona,
    book,
    make_patient,
)


def by_definition() -> set[tuple[object, ...]]:
    """What the one definition (``course_unfinished``, behind ``nnrr.access.unfinished_courses``)
    finds, for every unit at once."""
    return set(
        Course.objects.filter(course_unfinished()).values_list(
            "pk", "unit_id", "owner_id", "planned_consultation_date", "created_at"
        )
    )


def marked() -> set[tuple[object, ...]]:
    return set(
        UnfinishedCourse.objects.values_list(
            "course_id", "unit_id", "owner_id", "planned_consultation_date", "created_at"
        )
    )


def test_bulk_loaded_courses_are_marked_exactly_as_the_definition_finds(db: None) -> None:
    seed(scale=200, now=timezone.now(), out=io.StringIO(), answers=False)

    expected = by_definition()
    assert expected  # the seed has courses waiting for their Behandlerskjema
    assert marked() == expected


def test_every_change_of_course_or_form_keeps_the_marker_right(
    persona: Callable[[str], Persona],
) -> None:
    clinician, clerk = persona("clinician"), persona("clerk")
    course = book(clinician, make_patient(ST_OLAVS), planned_in_days=10)
    other = book(clinician, make_patient(ST_OLAVS, name="Kari Annen"), planned_in_days=20)
    assert {row[0] for row in marked()} == {course.pk, other.pk}
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)

    steps: list[Callable[[], object]] = [
        lambda: Course.objects.filter(pk=course.pk).update(owner=clerk.user),
        lambda: Course.objects.filter(pk=course.pk).update(
            planned_consultation_date=dt.date(2030, 1, 2)
        ),
        lambda: Response.objects.filter(pk=form.pk).update(status=FormStatus.FERDIGSTILT),
        lambda: Response.objects.filter(pk=form.pk).update(status=FormStatus.RETURNERT),
        lambda: Course.objects.filter(pk=course.pk).update(status=Course.Status.DELETED),
        lambda: Course.objects.filter(pk=course.pk).update(status=Course.Status.ACTIVE),
        lambda: Response.objects.filter(pk=form.pk).delete(),
        lambda: Response.objects.create(
            course=course, kind=FormKind.CLINICIAN, status=FormStatus.KLADD
        ),
        lambda: Course.objects.filter(pk=other.pk).delete(),
    ]
    seen = []
    for step in steps:
        step()
        assert marked() == by_definition()
        seen.append(len(marked()))
    # The steps did move the mark in and out, not leave it where it was.
    assert seen == [2, 2, 1, 2, 1, 2, 1, 2, 1]
    owner = UnfinishedCourse.objects.get(course_id=course.pk).owner_id
    assert owner == clerk.user.pk


# (course status, the Behandlerskjema's status or None for no Behandlerskjema, a patient form's
# status or None) → unfinished? The rule as the registry's users know it: an active course whose
# Behandlerskjema is Kladd or Returnert, whatever its patient forms are.
CASES = [
    (status, clinician, patient_form, status == "active" and clinician in (1, 5))
    for status in ("active", "deleted", "purged", "withdrawn")
    for clinician in (None, 1, 2, 4, 5)
    for patient_form in (None, 1, 2)
]


@pytest.mark.parametrize(("course_status", "clinician", "patient_form", "unfinished"), CASES)
def test_triggers_and_definition_agree_on_every_case(
    persona: Callable[[str], Persona],
    course_status: str,
    clinician: int | None,
    patient_form: int | None,
    unfinished: bool,
) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=10)
    Response.objects.filter(course=course).delete()
    # Written in the order a data load might: forms first, then the course's status.
    if clinician is not None:
        Response.objects.create(course=course, kind=FormKind.CLINICIAN, status=clinician)
    if patient_form is not None:
        Response.objects.create(course=course, kind=FormKind.PRE_TREATMENT, status=patient_form)
    Course.objects.filter(pk=course.pk).update(status=course_status)

    in_marker = UnfinishedCourse.objects.filter(course_id=course.pk).exists()
    in_definition = Course.objects.filter(course_unfinished(), pk=course.pk).exists()
    assert in_definition is unfinished
    assert in_marker is unfinished


def test_unfinished_courses_are_the_units_active_courses_with_a_draft_or_returned_clinician_form(
    persona: Any,
) -> None:
    clinician = persona("clinician")
    draft = book(clinician, make_patient(ST_OLAVS, name="Kari Kladd"))
    returned = book(clinician, make_patient(ST_OLAVS, name="Rolf Returnert"))
    finished = book(clinician, make_patient(ST_OLAVS, name="Frida Ferdig"))
    deleted = book(clinician, make_patient(ST_OLAVS, name="Sigurd Slettet"))
    closed = book(clinician, make_patient(ST_OLAVS, name="Vera Lukket"))
    elsewhere = book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Hans Annen"))

    def clinician_form(course: Course) -> Any:
        return Response.objects.filter(course=course, kind=FormKind.CLINICIAN)

    clinician_form(returned).update(status=FormStatus.RETURNERT)
    clinician_form(finished).update(status=FormStatus.FERDIGSTILT)
    # A patient form left as a draft does not make the course unfinished for the clinician.
    Response.objects.create(course=finished, kind=FormKind.PRE_TREATMENT, status=FormStatus.KLADD)
    scheduling.delete_course(
        actor=clinician.actor, course=deleted, reason="Feilregistrert", now=timezone.now()
    )
    # A course closed by a bulk update, its Behandlerskjema left as it was, is not listed.
    Course.objects.filter(pk=closed.pk).update(status=Course.Status.WITHDRAWN)
    assert clinician_form(closed).get().status == FormStatus.KLADD
    assert clinician_form(draft).get().status == FormStatus.KLADD
    assert clinician_form(elsewhere).get().status == FormStatus.KLADD

    profile = Profile.from_membership(clinician.membership)
    assert set(access.unfinished_courses(profile)) == {draft, returned}
