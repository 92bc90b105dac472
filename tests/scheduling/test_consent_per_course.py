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
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source, consent_exists
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import OPEN_STATES, Order, OrderState
from tests.conftest import (
    ST_OLAVS,
    book,
    complete_pre_treatment,
    make_patient,
)

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


@pytest.mark.parametrize("consent", [None, False])
def test_a_pre_treatment_form_without_consent_is_not_stored(persona: Any, consent: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    with pytest.raises(ValidationError):
        scheduling.submit_patient_form(
            actor=persona("clerk").actor,
            course=course,
            kind=FormKind.PRE_TREATMENT,
            answers={"FamilyStatus": 2},
            consent=consent,
            source=Source.PAPER,
            now=timezone.now(),
        )
    assert not Response.objects.filter(course=course, kind=FormKind.PRE_TREATMENT).exists()


def test_a_follow_up_form_stores_no_consent_value(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    complete_pre_treatment(course)  # a follow-up needs the course's consent
    form = scheduling.submit_patient_form(
        actor=persona("clerk").actor,
        course=course,
        kind=FormKind.FOLLOW_UP_6,
        answers={"FamilyStatus": 2},
        consent=True,
        source=Source.PAPER,
        now=timezone.now(),
    )
    assert form.consent is None
    assert form.status == FormStatus.FERDIGSTILT


def test_purge_spares_a_course_that_got_consent_after_it_was_listed(persona: Any) -> None:
    """The worker lists due courses, then purges each under a lock: consent that arrived in
    between must save the course (the second layer of the check)."""
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    later = timezone.now()
    assert course.pk in scheduling.courses_due_for_purge(later)
    complete_pre_treatment(course)  # consent arrives now

    assert scheduling.purge_unconsented_course(course_id=course.pk, now=later) is False
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert not ConsentLogEntry.objects.exists()


def test_purge_removes_a_course_still_without_consent(persona: Any) -> None:
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=timezone.now()) is True
    course.refresh_from_db()
    assert course.status == Course.Status.PURGED
    assert ConsentLogEntry.objects.get().reason == ConsentLogEntry.Reason.NO_CONSENT


def test_purge_removes_only_the_named_due_course_and_records_what_it_did(persona: Any) -> None:
    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    # another due course, booked first: only the one named is purged
    other = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    patient = make_patient(ST_OLAVS, name="Pia Purge")
    due = book(clerk, patient, planned_in_days=5, referral_days_ago=1, now=booked)
    now = timezone.now()

    assert scheduling.purge_unconsented_course(course_id=due.pk, now=now) is True

    reason = "Mangler samtykke 30 dager etter planlagt konsultasjon"
    assert Course.objects.get(pk=other.pk).status == Course.Status.ACTIVE
    purged = Course.objects.get(pk=due.pk)
    assert purged.status == Course.Status.PURGED
    assert purged.deleted_reason == reason
    clinician_form = Response.objects.get(course=due, kind=FormKind.CLINICIAN)
    assert clinician_form.status == FormStatus.SLETTET
    assert clinician_form.answers == {}
    event = AuditEvent.objects.get(action="nnrr.course.purged")
    assert event.patient_id == patient.pk
    assert event.unit_id == ST_OLAVS
    assert (event.actor_name, event.role) == ("worker", "system")
    assert event.object_id == str(due.pk)
    assert event.detail == {"planned_date": due.planned_consultation_date.isoformat()}
    entry = ConsentLogEntry.objects.get()
    assert (entry.course_id, entry.unit_id, entry.name) == (due.pk, ST_OLAVS, "Pia Purge")
    assert entry.national_id == patient.national_id
    assert entry.reason == ConsentLogEntry.Reason.NO_CONSENT
    assert entry.note == reason
    assert entry.planned_consultation_date == due.planned_consultation_date
    assert entry.referral_date == due.referral_date
    assert entry.recorded_at == now


def test_purge_waits_until_thirty_days_after_the_planned_day(persona: Any) -> None:
    from nnrr.scheduling import rules

    clerk = persona("clerk")
    booked = timezone.now() - dt.timedelta(days=80)
    course = book(clerk, make_patient(ST_OLAVS), planned_in_days=5, referral_days_ago=1, now=booked)
    due_at = rules.purge_due_at(course.planned_consultation_date)
    assert due_at == rules.start_of_next_day(
        course.planned_consultation_date + dt.timedelta(days=30)
    )
    early = due_at - dt.timedelta(seconds=1)
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=early) is False
    assert course.pk not in scheduling.courses_due_for_purge(early - dt.timedelta(days=1))
    assert Course.objects.get(pk=course.pk).status == Course.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="nnrr.course.purged").exists()
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=due_at) is True
    # a second purge of the same course finds nothing to do
    assert scheduling.purge_unconsented_course(course_id=course.pk, now=due_at) is False
    assert AuditEvent.objects.filter(action="nnrr.course.purged").count() == 1


def test_withdrawal_deletes_this_patients_active_courses_only(persona: Any) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, name="Trekker Samtykke")
    active = book(clerk, patient)
    earlier = book(clerk, patient)
    scheduling.delete_course(actor=clerk.actor, course=earlier, reason="x", now=timezone.now())
    bystander = book(clerk, make_patient(ST_OLAVS, name="Annen Pasient"))

    count = scheduling.withdraw_consent(
        actor=clerk.actor, patient=patient, reason="ønsker ikke", now=timezone.now()
    )

    assert count == 1
    assert Course.objects.get(pk=active.pk).status == Course.Status.WITHDRAWN
    assert Course.objects.get(pk=active.pk).deleted_reason == "Samtykke trukket: ønsker ikke"
    assert Course.objects.get(pk=earlier.pk).status == Course.Status.DELETED
    assert Course.objects.get(pk=bystander.pk).status == Course.Status.ACTIVE
    event = AuditEvent.objects.get(action="nnrr.consent.withdrawn")
    assert event.patient_id == patient.pk
    assert event.object_id == str(patient.pk)
    assert event.detail == {"reason_given": True, "courses": 1, "scope": "unit"}
    entry = ConsentLogEntry.objects.get(course_id=active.pk)
    assert entry.reason == ConsentLogEntry.Reason.WITHDRAWN


def test_withdrawal_clears_where_notices_would_go(persona: Any) -> None:
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, email="pasient@example.no")
    Patient.objects.filter(pk=patient.pk).update(mobile="91234567")
    patient.refresh_from_db()
    now = timezone.now()
    scheduling.withdraw_consent(actor=clerk.actor, patient=patient, reason="", now=now)
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.updated_at == now
    assert (stored.email, stored.mobile) == ("", "")
    assert (patient.email, patient.mobile) == ("", "")
    assert stored.consent_withdrawn_at == now


def test_withdrawing_one_of_two_courses_dates_the_withdrawal_and_keeps_the_address(
    persona: Any,
) -> None:
    """The patient page says "Pasienten trakk samtykket <dato>" also when another course runs on
    with its own consent (which still needs the address for its invitations)."""
    clerk = persona("clerk")
    patient = make_patient(ST_OLAVS, email="pasient@example.no")
    withdrawn, running = book(clerk, patient), book(clerk, patient)
    now = timezone.now()
    count = scheduling.withdraw_consent(
        actor=clerk.actor, patient=patient, reason="", now=now, course_ids=[withdrawn.pk]
    )
    assert count == 1
    assert Course.objects.get(pk=running.pk).status == Course.Status.ACTIVE
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.consent_withdrawn_at, stored.updated_at) == (now, now)
    assert patient.consent_withdrawn_at == now
    assert stored.email == patient.email == "pasient@example.no"


def test_courses_due_for_purge_are_the_old_active_ones_without_a_consenting_pre_treatment_form(
    persona: Any,
) -> None:
    clerk = persona("clerk")
    names = ["Uten Samtykke", "Med Samtykke", "Kladd Ja", "Slettet", "Nylig"]
    now = timezone.now()
    booked = {"Nylig": now - dt.timedelta(days=20)}  # planned 10 days ago; the rest 60
    courses = {
        name: book(
            clerk,
            make_patient(ST_OLAVS, name=name),
            planned_in_days=10,
            now=booked.get(name, now - dt.timedelta(days=70)),
        )
        for name in names
    }
    complete_pre_treatment(courses["Med Samtykke"])
    Response.objects.create(
        course=courses["Kladd Ja"],
        kind=FormKind.PRE_TREATMENT,
        status=FormStatus.KLADD,
        consent=True,
    )
    scheduling.delete_course(
        actor=clerk.actor, course=courses["Slettet"], reason="x", now=timezone.now()
    )

    due = set(scheduling.courses_due_for_purge(now))
    assert due == {courses["Uten Samtykke"].pk, courses["Kladd Ja"].pk}
