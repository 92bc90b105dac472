"""Messages applied together in one batch (one transaction, a savepoint each): one that fails is
recorded with its reason and leaves nothing behind, the others are applied, and nothing is
applied twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nnrr.accounts.models import Unit
from nnrr.appointments import mllp, services
from nnrr.appointments.models import Appointment, InboundMessage, MessageState
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course, Patient
from nnrr.patients.services import register_patient
from nnrr.scheduling import dispatch
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.channels import FileChannel
from tests.appointments.helpers import new_national_id, oslo, siu
from tests.conftest import ST_OLAVS, Persona

pytestmark = pytest.mark.django_db

BOOKED_AT = oslo(2026, 3, 2, 14, 0)
REFERRAL = dt.date(2026, 2, 20)
START = oslo(2026, 4, 1, 9, 0)


def receive(
    appointment_id: str, national_id: str, *, trigger: str = "S12", minutes: int = 0, **kw: Any
) -> InboundMessage:
    """Store one SIU as the listener does, without applying it."""
    kw.setdefault("start", START)
    mllp.receive(
        siu(
            trigger=trigger,
            unit=ST_OLAVS,
            sent_at=BOOKED_AT + dt.timedelta(minutes=minutes),
            appointment_id=appointment_id,
            national_id=national_id,
            referral_date=REFERRAL,
            **kw,
        ).encode(),
        now=BOOKED_AT + dt.timedelta(minutes=minutes),
    )
    stored = InboundMessage.objects.order_by("-id").first()
    assert stored is not None
    return stored


def audited(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_a_message_that_fails_in_a_batch_is_recorded_with_its_reason_and_the_others_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = [new_national_id() for _ in range(3)]
    messages = [receive(f"B-{i}", nid) for i, nid in enumerate(people)]
    real_book = scheduling.book_course

    def breaks_for_the_second(**kwargs: Any) -> Course:
        if kwargs["patient"].national_id == people[1]:
            raise RuntimeError("broken")  # after the patient is registered and audited
        return real_book(**kwargs)

    monkeypatch.setattr(scheduling, "book_course", breaks_for_the_second)

    assert services.process_pending(worker_id="w", now=BOOKED_AT) == 3

    for message in messages:
        message.refresh_from_db()
    assert [m.state for m in messages] == [
        MessageState.APPLIED,
        MessageState.FAILED,
        MessageState.APPLIED,
    ]
    assert messages[1].outcome == "Intern feil under behandling: RuntimeError"
    assert messages[1].course is None
    assert Course.objects.filter(patient__national_id__in=[people[0], people[2]]).count() == 2
    # Nothing of the failed message is kept: no patient record, appointment or audit event.
    assert not Patient.objects.filter(national_id=people[1]).exists()
    assert not Appointment.objects.filter(appointment_id="B-1").exists()
    assert audited("nnrr.patient.registered") == 2
    assert audited("nnrr.course.created") == 2
    assert audited("nnrr.appointment.book") == 2


def test_a_later_message_for_the_same_appointment_follows_a_failed_one_in_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nid = new_national_id()
    booking = receive("B-1", nid)
    move = receive("B-1", nid, trigger="S14", minutes=1, start=oslo(2026, 4, 8, 9, 0))
    real_book = scheduling.book_course

    def breaks_for_the_first_date(**kwargs: Any) -> Course:
        if kwargs["planned_date"] == START.date():
            raise RuntimeError("broken")  # after the patient is registered
        return real_book(**kwargs)

    monkeypatch.setattr(scheduling, "book_course", breaks_for_the_first_date)

    assert services.process_pending(worker_id="w", now=BOOKED_AT) == 2

    booking.refresh_from_db()
    move.refresh_from_db()
    assert booking.state == MessageState.FAILED
    assert move.state == MessageState.APPLIED  # the move of an unknown appointment books it
    course = Course.objects.get(patient__national_id=nid)
    assert course.planned_consultation_date == dt.date(2026, 4, 8)
    assert Patient.objects.filter(national_id=nid).count() == 1
    assert Appointment.objects.get(appointment_id="B-1").course == course
    assert audited("nnrr.patient.registered") == 1


def test_a_move_refused_inside_the_feed_leaves_no_audit_event_of_what_it_undid(
    tmp_path: Any,
) -> None:
    nid = new_national_id()
    receive("B-1", nid)
    services.process_pending(worker_id="w", now=BOOKED_AT)
    dispatch.run_pass(
        worker_id="w", now=oslo(2026, 3, 16, 8, 1), channel=FileChannel(tmp_path / "outbox")
    )
    course = Course.objects.get(patient__national_id=nid)
    # Sent, then moved 45 days earlier, to before the referral date: the re-creation deletes
    # the old course and is then refused, so the deletion is undone with its audit event.
    move = receive("B-1", nid, trigger="S13", minutes=60 * 24 * 18, start=oslo(2026, 2, 15, 9, 0))

    services.process_pending(worker_id="w", now=oslo(2026, 3, 20, 10, 0))

    move.refresh_from_db()
    assert move.state == MessageState.FAILED
    assert "før henvisningsdato" in move.outcome
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert audited("nnrr.course.deleted") == 0
    assert AuditEvent.objects.get(action="nnrr.appointment.move").outcome == "failed"


def test_owners_are_found_for_each_message_of_a_batch(persona: Any) -> None:
    clinician: Persona = persona("clinician")
    colleague: Persona = persona("local_admin")
    colleague.user.national_id = new_national_id()
    colleague.user.save(update_fields=["national_id"])
    elsewhere: Persona = persona("haukeland_clinician")
    owned, by_number, unowned = (new_national_id() for _ in range(3))
    receive("B-1", owned, clinician=clinician.user.username)
    receive("B-2", by_number, clinician=colleague.user.national_id)
    receive("B-3", unowned, clinician=elsewhere.user.username)

    assert services.process_pending(worker_id="w", now=BOOKED_AT) == 3

    assert Course.objects.get(patient__national_id=owned).owner == clinician.user
    assert Course.objects.get(patient__national_id=by_number).owner == colleague.user
    assert Course.objects.get(patient__national_id=unowned).owner is None


def test_a_patient_booked_twice_in_one_batch_keeps_one_record() -> None:
    nid = new_national_id()
    known = register_patient(
        actor=Actor.system("test"),
        unit=Unit.objects.get(pk=ST_OLAVS),
        national_id=nid,
        name="Kjent Pasient",
    )
    receive("B-1", nid)
    receive("B-2", nid, start=oslo(2026, 6, 1, 9, 0))
    other = new_national_id()
    receive("B-3", other)
    receive("B-4", other, start=oslo(2026, 6, 1, 9, 0))

    assert services.process_pending(worker_id="w", now=BOOKED_AT) == 4

    assert {c.patient for c in Course.objects.filter(patient__national_id=nid)} == {known}
    assert Patient.objects.filter(national_id=other).count() == 1
    assert Course.objects.filter(patient__national_id=other).count() == 2


def test_a_batch_once_applied_is_not_applied_again() -> None:
    people = [new_national_id() for _ in range(4)]
    messages = [receive(f"B-{i}", nid) for i, nid in enumerate(people)]
    assert services.process_pending(worker_id="first", now=BOOKED_AT) == 4

    assert services.process_pending(worker_id="second", now=BOOKED_AT) == 0
    outcome = services.process_now(message=messages[0], worker_id="third", now=BOOKED_AT)

    assert outcome.state == MessageState.APPLIED
    assert Course.objects.count() == 4
    assert audited("nnrr.appointment.book") == 4
    assert set(InboundMessage.objects.values_list("processed_by", flat=True)) == {"first"}


def test_messages_stored_before_a_restart_are_read_again_from_their_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    people = [new_national_id() for _ in range(3)]
    messages = [receive(f"B-{i}", nid) for i, nid in enumerate(people)]
    # A new process: what the listener read when it stored them is gone.
    monkeypatch.setattr(services, "read_at_intake", services.ReadAtIntake())

    assert services.process_pending(worker_id="after-restart", now=BOOKED_AT) == 3

    for message, nid in zip(messages, people, strict=True):
        message.refresh_from_db()
        assert message.state == MessageState.APPLIED
        assert message.course == Course.objects.get(patient__national_id=nid)
