"""Course lifecycle services: booking, rebooking, ordering, follow-ups, withdrawal, deletion.

Dates: booked Monday 2 March 2026 at 14:00 for a consultation on Wednesday 1 April 2026, so the
pre-treatment form is planned for 08:00 on 16 March, the reminder for 08:00 on 30 March and the
order expires at the end of 1 April.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import OSLO, oslo_date
from nnrr.lib.errors import ConflictError
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.patients.services import register_patient
from nnrr.portal.services import order_by_code
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, ImmutableFormError, Response, Source
from nnrr.scheduling import dispatch, rules
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.channels import FileChannel
from nnrr.scheduling.models import OPEN_STATES, Message, MessageState, Order, OrderState
from tests.conftest import (
    ST_OLAVS,
    Persona,
    book,
    complete_pre_treatment,
    make_patient,
)
from tests.questionnaires.helpers import complete_answers


def oslo(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=OSLO)


BOOKED_AT = oslo(2026, 3, 2, 14, 0)
REFERRAL = dt.date(2026, 2, 20)
PLANNED = dt.date(2026, 4, 1)
SEND_AT = oslo(2026, 3, 16, 8, 0)


@pytest.fixture
def clinician(persona: Callable[[str], Persona]) -> Persona:
    return persona("clinician")


@pytest.fixture
def patient(db: None) -> Patient:
    return make_patient(ST_OLAVS, name="Olav Flytter")


@pytest.fixture
def course(clinician: Persona, patient: Patient) -> Course:
    return scheduling.book_course(
        actor=clinician.actor,
        patient=patient,
        unit=clinician.unit,
        referral_date=REFERRAL,
        planned_date=PLANNED,
        now=BOOKED_AT,
    )


def pre_treatment(course: Course) -> Order:
    return Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)


def send_due(now: dt.datetime, tmp_path: Path) -> None:
    dispatch.run_pass(worker_id="w-test", now=now, channel=FileChannel(tmp_path / "outbox"))


def consent(course: Course, now: dt.datetime, answers: dict[str, object] | None = None) -> Response:
    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers=answers or {"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=now,
    )


def complete_clinician(who: Persona, course: Course, visit: str, now: dt.datetime) -> Response:
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    return scheduling.complete_clinician_form(
        actor=who.actor,
        response=form,
        answers=complete_answers(get_definition("1b"), visit=dt.date.fromisoformat(visit)),
        expected_version=form.version,
        now=now,
    )


def birth_date(patient: Patient) -> str:
    return patient.birth_date.strftime("%d.%m.%Y")


# --- Booking -----------------------------------------------------------------------------------


def test_booking_creates_a_draft_clinician_form_and_plans_the_pre_treatment_order(
    course: Course, clinician: Persona
) -> None:
    clinician_form = Response.objects.get(course=course)
    assert clinician_form.kind == FormKind.CLINICIAN
    assert clinician_form.status == FormStatus.KLADD
    assert course.owner == clinician.user

    order = pre_treatment(course)
    assert order.state == OrderState.PLANNED
    assert order.send_at == oslo(2026, 3, 16, 8, 0)
    assert order.remind_at == oslo(2026, 3, 30, 8, 0)
    assert order.expires_at == oslo(2026, 4, 2, 0, 0)
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "nnrr.course.created",
        "nnrr.order.created",
    }


def test_booking_close_to_the_consultation_sends_next_morning_without_reminder(
    clinician: Persona, patient: Patient
) -> None:
    course = scheduling.book_course(
        actor=clinician.actor,
        patient=patient,
        unit=clinician.unit,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 3, 4),
        now=BOOKED_AT,
    )
    order = pre_treatment(course)
    assert order.send_at == oslo(2026, 3, 3, 8, 0)
    assert order.remind_at is None
    assert order.expires_at == oslo(2026, 3, 5, 0, 0)


def test_booking_refuses_a_planned_date_before_the_referral(
    clinician: Persona, patient: Patient
) -> None:
    with pytest.raises(ValidationError) as caught:
        scheduling.book_course(
            actor=clinician.actor,
            patient=patient,
            unit=clinician.unit,
            referral_date=dt.date(2026, 3, 1),
            planned_date=dt.date(2026, 2, 27),
            now=BOOKED_AT,
        )
    assert "planned_consultation_date" in caught.value.message_dict
    assert not Course.objects.exists()


# --- Rebooking -----------------------------------------------------------------------------


def test_change_planned_date_replans_an_unsent_order(course: Course, clinician: Persona) -> None:
    before = pre_treatment(course)

    effect = scheduling.change_planned_date(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 4, 20),
        expected_version=course.version,
        now=oslo(2026, 3, 5, 10, 0),
    )

    after = pre_treatment(course)
    assert effect == scheduling.Rebooking.REPLANNED
    assert after.pk == before.pk
    assert after.state == OrderState.PLANNED
    assert after.send_at == oslo(2026, 4, 4, 8, 0)
    assert after.remind_at == oslo(2026, 4, 18, 8, 0)
    assert after.expires_at == oslo(2026, 4, 21, 0, 0)
    course.refresh_from_db()
    assert course.planned_consultation_date == dt.date(2026, 4, 20)
    assert course.version == 2


def test_sent_order_survives_a_move_of_up_to_thirty_days_with_reminder_and_expiry_following(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    send_due(SEND_AT, tmp_path)
    before = pre_treatment(course)
    assert before.state == OrderState.SENT

    effect = scheduling.change_planned_date(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 5, 1),
        expected_version=course.version,
        now=oslo(2026, 3, 18, 9, 0),
    )

    after = pre_treatment(course)
    assert effect == scheduling.Rebooking.KEPT
    assert after.pk == before.pk
    assert after.code_hash == before.code_hash
    assert after.token_hash == before.token_hash
    assert after.state == OrderState.SENT
    assert after.sent_at == SEND_AT
    assert after.remind_at == oslo(2026, 4, 29, 8, 0)
    assert after.expires_at == oslo(2026, 5, 2, 0, 0)


def test_sent_order_moved_earlier_follows_the_new_date(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    send_due(SEND_AT, tmp_path)

    effect = scheduling.change_planned_date(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 3, 25),
        expected_version=course.version,
        now=oslo(2026, 3, 18, 9, 0),
    )

    order = pre_treatment(course)
    assert effect == scheduling.Rebooking.KEPT
    assert order.remind_at == oslo(2026, 3, 23, 8, 0)
    assert order.expires_at == oslo(2026, 3, 26, 0, 0)


def test_sent_order_moved_more_than_thirty_days_needs_a_new_course_and_nothing_changes(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    send_due(SEND_AT, tmp_path)
    before = pre_treatment(course)
    version = Course.objects.get(pk=course.pk).version

    effect = scheduling.change_planned_date(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 5, 2),
        expected_version=version,
        now=oslo(2026, 3, 18, 9, 0),
    )

    assert effect == scheduling.Rebooking.NEEDS_NEW_COURSE
    stored = Course.objects.get(pk=course.pk)
    assert stored.planned_consultation_date == PLANNED
    assert stored.version == version
    after = pre_treatment(course)
    assert (after.state, after.remind_at, after.expires_at, after.version) == (
        before.state,
        before.remind_at,
        before.expires_at,
        before.version,
    )
    assert not AuditEvent.objects.filter(action="nnrr.course.rebooked").exists()


def test_recreate_course_deletes_the_old_course_and_books_a_new_one(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    send_due(SEND_AT, tmp_path)
    old_order = pre_treatment(course)
    now = oslo(2026, 3, 18, 9, 0)

    new = scheduling.recreate_course(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 6, 1),
        now=now,
    )

    course.refresh_from_db()
    old_order.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert old_order.state == OrderState.CANCELLED
    assert Response.objects.get(course=course).status == FormStatus.SLETTET
    assert new.pk != course.pk
    assert Course.objects.get(pk=new.pk).replaces_id == course.pk
    assert new.planned_consultation_date == dt.date(2026, 6, 1)
    assert new.status == Course.Status.ACTIVE
    new_order = pre_treatment(new)
    assert new_order.state == OrderState.PLANNED
    assert new_order.send_at == oslo(2026, 5, 16, 8, 0)
    assert new_order.code_hash != old_order.code_hash
    assert Response.objects.get(course=new).status == FormStatus.KLADD


def test_recreate_course_submitted_twice_is_refused_the_second_time(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    send_due(SEND_AT, tmp_path)
    now = oslo(2026, 3, 18, 9, 0)
    scheduling.recreate_course(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 6, 1),
        now=now,
    )

    with pytest.raises(ValidationError):
        scheduling.recreate_course(
            actor=clinician.actor,
            course=course,
            referral_date=REFERRAL,
            planned_date=dt.date(2026, 6, 1),
            now=now,
        )

    active = Course.objects.filter(patient=course.patient, status=Course.Status.ACTIVE)
    assert active.count() == 1
    assert Order.objects.filter(course__patient=course.patient, state__in=OPEN_STATES).count() == 1


def test_stale_expected_version_raises_conflict_and_changes_nothing(
    course: Course, clinician: Persona
) -> None:
    scheduling.change_planned_date(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 4, 10),
        expected_version=1,
        now=oslo(2026, 3, 5, 10, 0),
    )
    order_before = pre_treatment(course)

    with pytest.raises(ConflictError):
        scheduling.change_planned_date(
            actor=clinician.actor,
            course=Course.objects.get(pk=course.pk),
            referral_date=REFERRAL,
            planned_date=dt.date(2026, 4, 20),
            expected_version=1,
            now=oslo(2026, 3, 5, 10, 5),
        )

    stored = Course.objects.get(pk=course.pk)
    assert stored.planned_consultation_date == dt.date(2026, 4, 10)
    assert stored.version == 2
    order_after = pre_treatment(course)
    assert (order_after.send_at, order_after.expires_at) == (
        order_before.send_at,
        order_before.expires_at,
    )
    assert AuditEvent.objects.filter(action="nnrr.course.rebooked").count() == 1


# --- Ordering ("Bestill ePROM", "Bestill på nytt") ----------------------------------------------


def test_reorder_cancels_the_old_order_and_its_code_stops_working_in_the_portal(
    clinician: Persona, patient: Patient, client: Client
) -> None:
    now = timezone.now()
    course = book(clinician, patient, planned_in_days=20, now=now)
    first = scheduling.order_questionnaire(
        actor=clinician.actor, course=course, kind=FormKind.PRE_TREATMENT, notify_self=True, now=now
    )
    second = scheduling.order_questionnaire(
        actor=clinician.actor, course=course, kind=FormKind.PRE_TREATMENT, notify_self=True, now=now
    )

    old = order_by_code(first.code)
    assert old is not None and old.pk == first.order.pk
    assert old.state == OrderState.CANCELLED
    assert (
        Order.objects.filter(course=course, kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)
        .get()
        .pk
        == second.order.pk
    )
    assert second.order.replaces_id is not None

    refused = client.post(
        reverse("portal:start"), {"code": first.code, "birth_date": birth_date(patient)}
    )
    assert refused.status_code == 403
    assert "Skjemaet er ikke tilgjengelig" in refused.content.decode()

    accepted = Client().post(
        reverse("portal:start"), {"code": second.code, "birth_date": birth_date(patient)}
    )
    assert accepted.status_code == 302
    assert accepted["Location"] == reverse("portal:consent")


def test_reorder_expiry_is_at_least_seven_days_from_today(
    course: Course, clinician: Persona
) -> None:
    now = oslo(2026, 3, 29, 11, 0)  # three days before the consultation on 1 April

    new = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=False,
        now=now,
    )

    assert new.order.expires_at == oslo(2026, 4, 6, 0, 0)  # end of 5 April = today + 7
    assert new.order.send_at == now
    assert new.order.state == OrderState.PLANNED
    assert new.order.remind_at == oslo(2026, 3, 30, 8, 0)  # still ahead, so it stays


def test_reorder_expiry_is_the_consultation_day_when_that_is_later(
    course: Course, clinician: Persona
) -> None:
    now = oslo(2026, 3, 5, 11, 0)

    new = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=False,
        now=now,
    )

    assert new.order.expires_at == oslo(2026, 4, 2, 0, 0)
    assert new.order.remind_at == oslo(2026, 3, 30, 8, 0)
    assert Order.objects.filter(course=course, state=OrderState.CANCELLED).count() == 1


def test_notify_self_order_is_sent_at_once_with_nothing_for_the_worker_to_send(
    course: Course, clinician: Persona, tmp_path: Path
) -> None:
    now = oslo(2026, 3, 5, 11, 0)

    new = scheduling.order_questionnaire(
        actor=clinician.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=now,
    )

    order = Order.objects.get(pk=new.order.pk)
    assert order.state == OrderState.SENT
    assert order.sent_at == now
    assert order.remind_at is None
    message = Message.objects.get(order=order)
    assert message.state == MessageState.SKIPPED
    assert message.channel == "none"
    assert order_by_code(new.code) == order
    result = dispatch.run_pass(
        worker_id="w-test", now=oslo(2026, 3, 31, 9, 0), channel=FileChannel(tmp_path / "outbox")
    )
    assert (result.invitations, result.reminders, result.sent) == (0, 0, 0)
    assert not (tmp_path / "outbox").exists()


def test_order_refused_for_an_answered_form(course: Course, clinician: Persona) -> None:
    consent(course, oslo(2026, 3, 17, 9, 0))
    with pytest.raises(ValidationError):
        scheduling.order_questionnaire(
            actor=clinician.actor,
            course=course,
            kind=FormKind.PRE_TREATMENT,
            notify_self=True,
            now=oslo(2026, 3, 18, 9, 0),
        )
    assert Order.objects.filter(course=course).count() == 1


# --- Follow-ups ----------------------------------------------------------------------------


def test_follow_ups_are_planned_for_a_consenting_patient_when_the_clinician_form_is_completed(
    course: Course, clinician: Persona
) -> None:
    consent(course, oslo(2026, 3, 17, 9, 0))

    complete_clinician(clinician, course, "2026-03-31", oslo(2026, 3, 31, 15, 0))

    six = Order.objects.get(course=course, kind=FormKind.FOLLOW_UP_6)
    twelve = Order.objects.get(course=course, kind=FormKind.FOLLOW_UP_12)
    assert six.state == twelve.state == OrderState.PLANNED
    assert six.send_at == oslo(2026, 9, 30, 8, 0)  # 31 September clamps to the 30th
    assert six.remind_at == oslo(2026, 10, 14, 8, 0)
    assert six.expires_at == oslo(2026, 11, 12, 0, 0)
    assert twelve.send_at == oslo(2027, 3, 31, 8, 0)


def test_no_follow_ups_without_consent(course: Course, clinician: Persona) -> None:
    complete_clinician(clinician, course, "2026-04-01", oslo(2026, 4, 1, 15, 0))

    assert not Order.objects.filter(
        course=course, kind__in=[FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
    ).exists()


def test_completing_again_after_a_return_does_not_duplicate_follow_ups(
    course: Course, clinician: Persona, persona: Callable[[str], Persona]
) -> None:
    consent(course, oslo(2026, 3, 17, 9, 0))
    completed = complete_clinician(clinician, course, "2026-04-01", oslo(2026, 4, 1, 15, 0))
    form_services.return_to_draft(
        actor=persona("local_admin").actor,
        response=completed,
        reason="Feil i medisinering",
        now=oslo(2026, 4, 2, 9, 0),
    )

    complete_clinician(clinician, course, "2026-04-01", oslo(2026, 4, 2, 10, 0))

    kinds = sorted(
        Order.objects.filter(
            course=course, kind__in=[FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
        ).values_list("kind", flat=True)
    )
    assert kinds == [FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]


def test_consent_after_the_clinician_form_was_completed_plans_the_follow_ups(
    course: Course, clinician: Persona
) -> None:
    complete_clinician(clinician, course, "2026-04-01", oslo(2026, 4, 1, 12, 0))
    assert not Order.objects.filter(course=course, kind=FormKind.FOLLOW_UP_6).exists()

    consent(course, oslo(2026, 4, 1, 20, 0))

    six = Order.objects.get(course=course, kind=FormKind.FOLLOW_UP_6)
    assert six.send_at == oslo(2026, 10, 1, 8, 0)
    assert Order.objects.filter(course=course, kind=FormKind.FOLLOW_UP_12).count() == 1


# --- Withdrawal and deletion -----------------------------------------------------------------


def test_withdraw_consent_deletes_the_units_forms_only_and_keeps_a_log_entry_per_course(
    course: Course, clinician: Persona, persona: Callable[[str], Persona], patient: Patient
) -> None:
    consent(course, oslo(2026, 3, 17, 9, 0), {"FamilyStatus": 1, "PainExperiencesActivity": 8})
    complete_clinician(clinician, course, "2026-04-01", oslo(2026, 4, 1, 15, 0))
    haukeland = persona("haukeland_clinician")
    theirs = register_patient(
        actor=haukeland.actor,
        unit=haukeland.unit,
        national_id=patient.national_id,
        name=patient.name,
        email="hos.haukeland@example.no",
    )
    other = scheduling.book_course(
        actor=haukeland.actor,
        patient=theirs,
        unit=haukeland.unit,
        referral_date=REFERRAL,
        planned_date=dt.date(2026, 5, 5),
        now=oslo(2026, 4, 2, 9, 0),
    )
    reason = "Pasienten har M54.5 lumbago og ODI 46; vil ikke delta"

    count = scheduling.withdraw_consent(
        actor=clinician.actor, patient=patient, reason=reason, now=oslo(2026, 4, 3, 9, 0)
    )

    assert count == 1
    responses = Response.objects.filter(course__patient=patient)
    assert not responses.filter(status=FormStatus.FERDIGSTILT).exists()
    assert not responses.exclude(answers={}).exists()
    assert set(responses.values_list("status", flat=True)) == {FormStatus.SLETTET}
    assert not Order.objects.filter(course__patient=patient, state__in=OPEN_STATES).exists()
    assert Order.objects.filter(course__patient=patient, state=OrderState.CANCELLED).count() == 2
    entries = ConsentLogEntry.objects.filter(national_id=patient.national_id)
    assert [e.course_id for e in entries] == [course.pk]
    assert {e.reason for e in entries} == {ConsentLogEntry.Reason.WITHDRAWN}
    assert {e.unit_id for e in entries} == {ST_OLAVS}
    patient.refresh_from_db()
    assert patient.consent_withdrawn_at is not None
    assert patient.email == ""
    assert set(Course.objects.filter(patient=patient).values_list("status", flat=True)) == {
        Course.Status.WITHDRAWN
    }
    # Haukeland's record and course are untouched.
    other.refresh_from_db()
    theirs.refresh_from_db()
    assert other.status == Course.Status.ACTIVE
    assert theirs.email == "hos.haukeland@example.no"
    assert theirs.consent_withdrawn_at is None
    assert Order.objects.filter(course=other, state__in=OPEN_STATES).count() == 1

    event = AuditEvent.objects.get(action="nnrr.consent.withdrawn")
    assert event.patient_id == patient.pk
    assert event.actor == clinician.user
    stored = json.dumps(event.detail, ensure_ascii=False)
    for fragment in ("M54.5", "lumbago", "ODI 46", reason):
        assert fragment not in stored


def test_after_withdrawal_a_new_course_asks_for_consent_again(
    course: Course, clinician: Persona, patient: Patient
) -> None:
    scheduling.withdraw_consent(
        actor=clinician.actor, patient=patient, reason="Ønsker ikke", now=oslo(2026, 3, 3, 9, 0)
    )
    with pytest.raises(ValidationError):
        # The withdrawn course itself takes no more orders.
        scheduling.order_questionnaire(
            actor=clinician.actor,
            course=Course.objects.select_related("patient").get(pk=course.pk),
            kind=FormKind.PRE_TREATMENT,
            notify_self=True,
            now=oslo(2026, 3, 3, 9, 5),
        )
    again = scheduling.book_course(
        actor=clinician.actor,
        patient=Patient.objects.get(pk=patient.pk),
        unit=clinician.unit,
        referral_date=REFERRAL,
        planned_date=PLANNED,
        now=oslo(2026, 3, 4, 9, 0),
    )

    # Consent belongs to the course: the new one plans its pre-treatment form (which asks).
    assert Order.objects.filter(course=again, kind=FormKind.PRE_TREATMENT).count() == 1
    # But no follow-up before that form is stored with consent.
    for kind in (FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12):
        with pytest.raises(ValidationError, match="samtykket"):
            scheduling.order_questionnaire(
                actor=clinician.actor,
                course=Course.objects.select_related("patient").get(pk=again.pk),
                kind=kind,
                notify_self=True,
                now=oslo(2026, 3, 4, 9, 5),
            )


def test_delete_course_without_consent_leaves_a_consent_log_entry(
    course: Course, clinician: Persona
) -> None:
    order = pre_treatment(course)

    scheduling.delete_course(
        actor=clinician.actor, course=course, reason="Møtte ikke", now=oslo(2026, 4, 2, 9, 0)
    )

    course.refresh_from_db()
    order.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert order.state == OrderState.CANCELLED
    entry = ConsentLogEntry.objects.get(course_id=course.pk)
    assert entry.reason == ConsentLogEntry.Reason.DELETED
    assert entry.national_id == course.patient.national_id
    assert entry.unit_id == ST_OLAVS


def test_delete_course_with_consent_removes_the_forms_and_keeps_no_log_entry(
    course: Course, clinician: Persona
) -> None:
    consent(course, oslo(2026, 3, 17, 9, 0))

    scheduling.delete_course(
        actor=clinician.actor, course=course, reason="Feilregistrert", now=oslo(2026, 3, 18, 9, 0)
    )

    assert not ConsentLogEntry.objects.exists()
    assert not Response.objects.filter(course=course, kind=FormKind.PRE_TREATMENT).exists()
    assert Response.objects.get(course=course).status == FormStatus.SLETTET


# --- Completed patient forms are immutable --------------------------------------------------


@pytest.fixture
def completed_form(course: Course) -> Response:
    return consent(course, oslo(2026, 3, 17, 9, 0), {"FamilyStatus": 3})


def test_completed_patient_form_refuses_model_save(completed_form: Response) -> None:
    form = Response.objects.get(pk=completed_form.pk)
    form.answers = {"FamilyStatus": 1}
    with pytest.raises(ImmutableFormError):
        form.save()
    assert Response.objects.get(pk=form.pk).answers == {"FamilyStatus": 3}


def test_completed_patient_form_refuses_queryset_update_in_the_database(
    completed_form: Response,
) -> None:
    with pytest.raises(DatabaseError), transaction.atomic():
        Response.objects.filter(pk=completed_form.pk).update(answers={"FamilyStatus": 1})
    with pytest.raises(DatabaseError), transaction.atomic():
        Response.objects.filter(pk=completed_form.pk).update(status=FormStatus.KLADD)
    stored = Response.objects.get(pk=completed_form.pk)
    assert stored.answers == {"FamilyStatus": 3}
    assert stored.status == FormStatus.FERDIGSTILT


def test_completed_patient_form_refuses_changes_through_the_services(
    completed_form: Response, course: Course
) -> None:
    actor = Actor.system("test")
    with pytest.raises(ValidationError):
        form_services.save_draft(
            actor=actor,
            response=completed_form,
            answers={"FamilyStatus": 1},
            expected_version=completed_form.version,
            now=oslo(2026, 3, 18),
        )
    with pytest.raises(ValidationError):
        scheduling.submit_patient_form(
            actor=actor,
            course=course,
            kind=FormKind.PRE_TREATMENT,
            answers={"FamilyStatus": 1},
            consent=True,
            source=Source.PAPER,
            now=oslo(2026, 3, 18),
        )
    form_services.save_portal_draft(
        actor=actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        draft=completed_form,
        now=oslo(2026, 3, 18),
    )
    stored = Response.objects.get(pk=completed_form.pk)
    assert stored.answers == {"FamilyStatus": 3}
    assert stored.status == FormStatus.FERDIGSTILT
    assert Response.objects.filter(course=course, kind=FormKind.PRE_TREATMENT).count() == 1


def test_pre_treatment_form_without_consent_stores_nothing(course: Course) -> None:
    with pytest.raises(ValidationError):
        scheduling.submit_patient_form(
            actor=Actor.system("test"),
            course=course,
            kind=FormKind.PRE_TREATMENT,
            answers={"FamilyStatus": 1},
            consent=False,
            source=Source.PAPER,
            now=oslo(2026, 3, 17, 9, 0),
        )
    assert not Response.objects.filter(course=course, kind=FormKind.PRE_TREATMENT).exists()
    assert pre_treatment(course).state == OrderState.PLANNED


def test_today_in_oslo_is_used_for_booking_validation(clinician: Persona, patient: Patient) -> None:
    # 23:30 UTC on 1 March is already 2 March in Oslo: a referral dated 2 March is not future.
    late = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    assert oslo_date(late) == dt.date(2026, 3, 2)
    course = scheduling.book_course(
        actor=clinician.actor,
        patient=patient,
        unit=clinician.unit,
        referral_date=dt.date(2026, 3, 2),
        planned_date=PLANNED,
        now=late,
    )
    assert course.referral_date == dt.date(2026, 3, 2)


def test_correcting_besoksdato_replans_follow_ups_not_sent_yet(
    persona: Callable[[str], Persona],
) -> None:
    """A returned Behandlerskjema completed again with another visit date moves the follow-ups."""
    clinician = persona("clinician")
    now = timezone.now()
    course = book(clinician, make_patient(ST_OLAVS), planned_in_days=-2, referral_days_ago=40)
    scheduling.submit_patient_form(
        actor=Actor.system(),
        course=course,
        kind="1a",
        answers=complete_answers(get_definition("1a")),
        consent=True,
        source=Source.PAPER,
        now=now,
    )
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    today = oslo_date(now)
    first = today - dt.timedelta(days=2)
    scheduling.complete_clinician_form(
        actor=clinician.actor,
        response=form,
        answers=complete_answers(get_definition("1b"), visit=first),
        expected_version=form.version,
        now=now,
    )
    form.refresh_from_db()
    form_services.return_to_draft(
        actor=persona("local_admin").actor, response=form, reason="Feil besøksdato", now=now
    )
    form.refresh_from_db()
    corrected = today - dt.timedelta(days=1)
    scheduling.complete_clinician_form(
        actor=clinician.actor,
        response=form,
        answers=complete_answers(get_definition("1b"), visit=corrected),
        expected_version=form.version,
        now=now,
    )
    orders = Order.objects.filter(course=course, kind__in=["2", "3"])
    assert orders.count() == 2
    six = orders.get(kind="2")
    assert six.send_at == rules.plan_follow_up(corrected, 6).send_at


def _consented_course(persona: Any) -> Course:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    complete_pre_treatment(course)
    return course


def _follow_ups(course: Course) -> dict[str, Any]:
    from nnrr.scheduling.models import Order

    return {
        o.kind: o for o in Order.objects.filter(course=course).exclude(kind=FormKind.PRE_TREATMENT)
    }


def test_follow_ups_are_planned_per_course_and_re_planned_when_the_visit_date_changes(
    persona: Any,
) -> None:
    from nnrr.scheduling import rules

    clerk = persona("clerk")
    other = _consented_course(persona)
    course = _consented_course(persona)
    today = timezone.localdate()
    first_visit, corrected = today - dt.timedelta(days=2), today - dt.timedelta(days=1)
    now = timezone.now()
    scheduling.plan_follow_ups(actor=clerk.actor, course=other, visit_date=first_visit, now=now)

    created = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=first_visit, now=now
    )
    assert sorted(o.kind for o in created) == [FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
    before = _follow_ups(course)

    again = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=corrected, now=now
    )

    assert again == []  # nothing duplicated
    after = _follow_ups(course)
    for kind, months in ((FormKind.FOLLOW_UP_6, 6), (FormKind.FOLLOW_UP_12, 12)):
        plan = rules.plan_follow_up(corrected, months)
        order = after[kind]
        assert order.pk == before[kind].pk
        assert (order.send_at, order.remind_at, order.expires_at) == (
            plan.send_at,
            plan.remind_at,
            plan.expires_at,
        )
        assert order.version == before[kind].version + 1
    events = AuditEvent.objects.filter(action="nnrr.order.replanned").order_by("id")
    assert [e.detail for e in events] == [
        {"kind": FormKind.FOLLOW_UP_6, "visit_date": corrected.isoformat()},
        {"kind": FormKind.FOLLOW_UP_12, "visit_date": corrected.isoformat()},
    ]
    assert {e.patient_id for e in events} == {course.patient_id}
    assert {e.object_id for e in events} == {str(after[k].pk) for k in after}
    # the other course's follow-ups were not touched
    assert all(
        o.send_at
        == rules.plan_follow_up(first_visit, 6 if k == FormKind.FOLLOW_UP_6 else 12).send_at
        for k, o in _follow_ups(other).items()
    )


def test_a_follow_up_already_sent_is_not_re_planned(persona: Any) -> None:
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    course = _consented_course(persona)
    today = timezone.localdate()
    now = timezone.now()
    scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=today - dt.timedelta(days=2), now=now
    )
    six = _follow_ups(course)[FormKind.FOLLOW_UP_6]
    Order.objects.filter(pk=six.pk).update(state=OrderState.SENT)
    scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=today - dt.timedelta(days=1), now=now
    )
    stored = Order.objects.get(pk=six.pk)
    assert (stored.send_at, stored.state, stored.version) == (
        six.send_at,
        OrderState.SENT,
        six.version,
    )


def test_a_missing_follow_up_is_created_even_when_the_other_exists(persona: Any) -> None:
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    course = _consented_course(persona)
    visit = timezone.localdate() - dt.timedelta(days=2)
    now = timezone.now()
    scheduling.plan_follow_ups(actor=clerk.actor, course=course, visit_date=visit, now=now)
    Order.objects.filter(course=course, kind=FormKind.FOLLOW_UP_12).update(
        state=OrderState.CANCELLED
    )
    created = scheduling.plan_follow_ups(
        actor=clerk.actor, course=course, visit_date=visit, now=now
    )
    assert [o.kind for o in created] == [FormKind.FOLLOW_UP_12]


def test_plan_follow_ups_plans_nothing_for_a_course_without_consent(persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    assert (
        scheduling.plan_follow_ups(
            actor=persona("clerk").actor,
            course=course,
            visit_date=timezone.localdate(),
            now=timezone.now(),
        )
        == []
    )
    assert _follow_ups(course) == {}


def test_move_course_is_the_one_rebooking_rule_and_recreates_only_when_told(
    clinician: Persona, patient: Patient, tmp_path: Path
) -> None:
    course = scheduling.book_course(
        actor=clinician.actor,
        patient=patient,
        unit=clinician.unit,
        referral_date=REFERRAL,
        planned_date=PLANNED,
        now=BOOKED_AT,
    )
    dispatch.run_pass(worker_id="w-test", now=SEND_AT, channel=FileChannel(tmp_path / "outbox"))
    far = PLANNED + dt.timedelta(days=45)

    asked = scheduling.move_course(
        actor=clinician.actor, course=course, referral_date=REFERRAL, planned_date=far, now=SEND_AT
    )
    assert asked.effect == scheduling.Rebooking.NEEDS_NEW_COURSE
    assert asked.course == course
    course.refresh_from_db()
    assert (course.status, course.planned_consultation_date) == (Course.Status.ACTIVE, PLANNED)

    done = scheduling.move_course(
        actor=clinician.actor,
        course=course,
        referral_date=REFERRAL,
        planned_date=far,
        now=SEND_AT,
        recreate=True,
    )
    course.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert done.course.replaces_id == course.pk
    assert done.course.planned_consultation_date == far
