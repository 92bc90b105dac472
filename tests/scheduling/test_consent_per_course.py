"""No patient data without consent on any path, and consent belongs to the course.

Paths: "Bestill ePROM" (view and service), paper entry by staff, the portal (see
tests/portal/test_portal.py for its pages), the worker's follow-up planning.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.patients.models import ConsentLogEntry, Course
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source, consent_exists
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import OPEN_STATES, Order, OrderState
from tests.conftest import ST_OLAVS, book, make_patient

FOLLOW_UPS = [FormKind.FOLLOW_UP_6.value, FormKind.FOLLOW_UP_12.value]


@pytest.fixture
def course(persona: Any) -> Course:
    return book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=5)


def consent(course: Course) -> Response:
    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )


def paper_url(course: Course, kind: str) -> str:
    return reverse("questionnaires:paper", args=[course.pk, kind])


@pytest.mark.parametrize("kind", FOLLOW_UPS)
def test_bestill_eprom_refuses_a_follow_up_for_a_course_without_consent(
    kind: str, course: Course, as_persona: Any
) -> None:
    response = as_persona("clerk").post(
        reverse("scheduling:order", args=[course.patient_id]),
        {"kind": kind, "course": str(course.pk), "notify_self": "on", "confirm": "on"},
    )
    assert response.status_code == 200
    assert "samtykket" in response.content.decode()
    assert not Order.objects.filter(course=course, kind=kind).exists()


@pytest.mark.parametrize("kind", FOLLOW_UPS)
def test_bestill_eprom_orders_a_follow_up_once_the_course_has_consent(
    kind: str, course: Course, as_persona: Any
) -> None:
    consent(course)
    response = as_persona("clerk").post(
        reverse("scheduling:order", args=[course.patient_id]),
        {"kind": kind, "course": str(course.pk), "notify_self": "on", "confirm": "on"},
    )
    assert response.status_code == 302
    assert Order.objects.filter(course=course, kind=kind, state__in=OPEN_STATES).count() == 1


@pytest.mark.parametrize("kind", FOLLOW_UPS)
def test_paper_follow_up_for_a_course_without_consent_stores_nothing(
    kind: str, course: Course, as_persona: Any
) -> None:
    client = as_persona("clerk")
    opened = client.get(paper_url(course, kind))
    assert "Pasienten har ikke samtykket" in opened.content.decode()
    posted = client.post(paper_url(course, kind), {"OdiPain": "3"})
    assert posted.status_code == 200
    assert "Ingen opplysninger er lagret" in posted.content.decode()
    assert not Response.objects.filter(course=course, kind=kind).exists()


def test_paper_follow_up_is_stored_for_a_consented_course(course: Course, as_persona: Any) -> None:
    consent(course)
    response = as_persona("clerk").post(paper_url(course, "2"), {"OdiPain": "3"})
    assert response.status_code == 302
    assert Response.objects.filter(
        course=course, kind="2", status=FormStatus.FERDIGSTILT, source=Source.PAPER
    ).exists()


@pytest.mark.parametrize("kind", ["1a", "2"])
def test_an_empty_paper_form_is_not_stored(kind: str, course: Course, as_persona: Any) -> None:
    if kind != "1a":
        consent(course)
    data = {"consent": "1"} if kind == "1a" else {}
    response = as_persona("clerk").post(paper_url(course, kind), data)
    assert response.status_code == 200
    assert "Papirskjemaet er tomt" in response.content.decode()
    stored = Response.objects.filter(course=course, kind=kind)
    assert not stored.exclude(source=Source.PORTAL).exists()
    # The open order of that form is still waiting for the real answers.
    if kind == "1a":
        assert Order.objects.filter(course=course, kind=kind, state__in=OPEN_STATES).exists()


def test_paper_entry_for_a_withdrawn_course_answers_404(
    course: Course, as_persona: Any, persona: Any
) -> None:
    scheduling.withdraw_consent(
        actor=persona("clerk").actor, patient=course.patient, reason="Nei", now=timezone.now()
    )
    client = as_persona("clerk")
    assert client.get(paper_url(course, "1a")).status_code == 404
    assert client.post(paper_url(course, "1a"), {"consent": "1", "OdiPain": "3"}).status_code == (
        404
    )
    assert not Response.objects.filter(course=course, kind="1a").exists()


def test_the_services_refuse_a_follow_up_without_consent_whatever_the_caller(
    course: Course,
) -> None:
    for kind in FOLLOW_UPS:
        with pytest.raises(ValidationError):
            scheduling.submit_patient_form(
                actor=Actor.system("test"),
                course=course,
                kind=kind,
                answers={"OdiPain": 3},
                consent=None,
                source=Source.PORTAL,
                now=timezone.now(),
            )
        with pytest.raises(ValidationError):
            form_services.save_portal_draft(
                actor=Actor.system("test"),
                course=course,
                kind=kind,
                answers={"OdiPain": 3},
                draft=None,
                now=timezone.now(),
            )
    assert not Response.objects.filter(course=course, kind__in=FOLLOW_UPS).exists()


def test_withdrawal_cancels_the_courses_orders_and_deletes_its_content_and_logs_it(
    course: Course, persona: Any
) -> None:
    consent(course)
    scheduling.order_questionnaire(
        actor=persona("clerk").actor,
        course=course,
        kind=FormKind.FOLLOW_UP_6,
        notify_self=True,
        now=timezone.now(),
    )
    scheduling.withdraw_consent(
        actor=persona("clerk").actor, patient=course.patient, reason="Nei", now=timezone.now()
    )
    assert not Order.objects.filter(course=course, state__in=OPEN_STATES).exists()
    assert Order.objects.filter(course=course, state=OrderState.CANCELLED).exists()
    assert not Response.objects.filter(course=course).exclude(answers={}).exists()
    entry = ConsentLogEntry.objects.get(course_id=course.pk)
    assert entry.reason == ConsentLogEntry.Reason.WITHDRAWN
    assert entry.national_id == course.patient.national_id


def test_a_new_course_after_withdrawal_takes_consent_and_follow_ups_again(
    course: Course, persona: Any, as_persona: Any
) -> None:
    clerk = persona("clerk")
    scheduling.withdraw_consent(
        actor=clerk.actor, patient=course.patient, reason="Nei", now=timezone.now()
    )
    again = book(clerk, course.patient, planned_in_days=8)
    assert Order.objects.filter(course=again, kind="1a", state__in=OPEN_STATES).exists()
    consent(again)
    response = as_persona("clerk").post(paper_url(again, "2"), {"OdiPain": "2"})
    assert response.status_code == 302
    assert Response.objects.filter(course=again, kind="2", status=FormStatus.FERDIGSTILT).exists()


def test_withdrawal_for_one_course_leaves_the_other_course_and_the_address(
    persona: Any, as_persona: Any
) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, email="to.forlop@example.no")
    first = book(clerk, patient, planned_in_days=5)
    second = book(clerk, patient, planned_in_days=60)
    consent(second)
    client = as_persona("clerk")
    page = client.get(reverse("patients:withdraw", args=[patient.pk])).content.decode()
    assert page.count('name="course"') == 2 and page.count("checked") == 2

    nothing = client.post(
        reverse("patients:withdraw", args=[patient.pk]),
        {"reason": "Nei", "confirm": "yes", "course_choice": "1"},
    )
    assert "Velg forløpet" in nothing.content.decode()
    assert Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).count() == 2

    client.post(
        reverse("patients:withdraw", args=[patient.pk]),
        {"reason": "Nei", "confirm": "yes", "course_choice": "1", "course": str(first.pk)},
    )
    first.refresh_from_db()
    second.refresh_from_db()
    patient.refresh_from_db()
    assert first.status == Course.Status.WITHDRAWN
    assert second.status == Course.Status.ACTIVE
    assert Response.objects.filter(course=second, kind="1a", consent=True).exists()
    assert patient.email == "to.forlop@example.no"  # the second course's invitations go on
    assert list(ConsentLogEntry.objects.values_list("course_id", flat=True)) == [first.pk]

    client.post(
        reverse("patients:withdraw", args=[patient.pk]),
        {"reason": "Nei", "confirm": "yes", "course_choice": "1", "course": str(second.pk)},
    )
    patient.refresh_from_db()
    assert patient.email == ""
    assert not Course.objects.filter(patient=patient, status=Course.Status.ACTIVE).exists()


# (kind, status, consent) of one form of the course → does the course have consent?
CONSENT_CASES = [
    (FormKind.PRE_TREATMENT, FormStatus.FERDIGSTILT, True, True),
    (FormKind.PRE_TREATMENT, FormStatus.FERDIGSTILT, False, False),
    (FormKind.PRE_TREATMENT, FormStatus.FERDIGSTILT, None, False),
    (FormKind.PRE_TREATMENT, FormStatus.KLADD, True, False),
    (FormKind.PRE_TREATMENT, FormStatus.SLETTET, True, False),
    (FormKind.FOLLOW_UP_6, FormStatus.FERDIGSTILT, True, False),
    (FormKind.CLINICIAN, FormStatus.FERDIGSTILT, True, False),
]


@pytest.mark.parametrize(("kind", "status", "given", "has_consent"), CONSENT_CASES)
def test_every_reader_of_consent_gives_the_same_answer(
    course: Course, kind: str, status: int, given: bool | None, has_consent: bool
) -> None:
    # The services, the purge, the exports and the reports ask "has the course consent?"
    # through one definition (questionnaires.models.consent_given); each form of it must give
    # the same answer in every case.
    Response.objects.filter(course=course, kind=kind).delete()
    Response.objects.create(course=course, kind=kind, status=status, consent=given)
    long_after = timezone.now() + dt.timedelta(days=90)

    assert form_services.course_has_consent(course) is has_consent
    assert Course.objects.filter(consent_exists(), pk=course.pk).exists() is has_consent
    assert Response.objects.giving_consent().filter(course=course).exists() is has_consent
    # The worker deletes an unconsented course 30 days after its planned consultation.
    assert (course.pk in scheduling.courses_due_for_purge(long_after)) is not has_consent
