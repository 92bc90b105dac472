"""Every rule of the appointment service on the HL7 v2 SIU feed: what a message does to courses
and questionnaire orders, and the ACK the booking system gets.

Dates: booked Monday 2 March 2026 at 14:00 for a consultation on Wednesday 1 April 2026 at
09:00, so the pre-treatment form is planned for 08:00 on 16 March, reminded at 08:00 on 30 March
and expires at the end of 1 April.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from nnrr.appointments import mllp, services
from nnrr.appointments.models import Appointment, FeedSettings, InboundMessage, MessageState
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling import dispatch
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.channels import FileChannel
from nnrr.scheduling.models import Order, OrderState
from tests.appointments.helpers import Reply, new_national_id, oslo, send, siu
from tests.conftest import HAUKELAND, ST_OLAVS, Persona

pytestmark = pytest.mark.django_db

BOOKED_AT = oslo(2026, 3, 2, 14, 0)
REFERRAL = dt.date(2026, 2, 20)
START = oslo(2026, 4, 1, 9, 0)


@pytest.fixture
def nid() -> str:
    return new_national_id()


def booking(nid: str, **changes: Any) -> str:
    """The SIU^S12 booking appointment A-1 of ``nid`` at St. Olavs on 1 April, sent on 2 March,
    with ``changes`` to any of its fields (``start=None`` leaves the start out)."""
    fields: dict[str, Any] = {
        "trigger": "S12",
        "unit": ST_OLAVS,
        "sent_at": BOOKED_AT,
        "appointment_id": "A-1",
        "national_id": nid,
        "start": START,
        "referral_date": REFERRAL,
    }
    fields.update(changes)
    return siu(**{key: value for key, value in fields.items() if value is not None})


@pytest.fixture
def new(nid: str) -> Callable[..., Reply]:
    """Send one SIU for appointment A-1 of the test patient at St. Olavs."""

    def send_one(trigger: str = "S12", *, now: dt.datetime = BOOKED_AT, **kw: Any) -> Reply:
        kw.setdefault("sent_at", now)
        return send(booking(nid, trigger=trigger, **kw), now=now + dt.timedelta(seconds=5))

    return send_one


def the_course(nid: str) -> Course:
    return Course.objects.get(patient__national_id=nid, status=Course.Status.ACTIVE)


def pre_treatment(course: Course) -> Order:
    return Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)


def send_due(now: dt.datetime, tmp_path: Any) -> None:
    dispatch.run_pass(worker_id="w-test", now=now, channel=FileChannel(tmp_path / "outbox"))


# --- New appointments ------------------------------------------------------------------------


def test_a_new_appointment_creates_the_course_and_plans_the_questionnaire(
    new: Callable[..., Reply], nid: str
) -> None:
    reply = new(family_name="Flytter", given_name="Olav")

    assert reply.code == "AA"
    course = the_course(nid)
    assert course.unit_id == ST_OLAVS
    assert course.referral_date == REFERRAL
    assert course.planned_consultation_date == dt.date(2026, 4, 1)
    assert course.owner is None  # no clinician in the message: unowned
    assert course.patient.name == "Olav Flytter"
    clinician_form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    assert clinician_form.status == FormStatus.KLADD
    order = pre_treatment(course)
    assert order.state == OrderState.PLANNED
    assert order.send_at == oslo(2026, 3, 16, 8, 0)
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.APPLIED
    assert reply.message.course == course
    assert reply.message.patient_masked == f"{nid[:6]} *****"


def test_a_new_appointment_for_a_known_patient_uses_the_units_own_record(
    new: Callable[..., Reply], nid: str
) -> None:
    from nnrr.accounts.models import Unit
    from nnrr.patients.services import register_patient

    known = register_patient(  # the unit's record exists before the message comes
        actor=Actor.system("test"),
        unit=Unit.objects.get(pk=ST_OLAVS),
        national_id=nid,
        name="Kjent Pasient",
        email="kjent@example.no",
    )

    new()

    assert the_course(nid).patient == known
    assert Patient.objects.filter(national_id=nid).count() == 1


def test_the_clinician_in_the_message_owns_the_course_when_they_have_a_role_at_the_unit(
    new: Callable[..., Reply], nid: str, persona: Callable[[str], Persona]
) -> None:
    clinician = persona("clinician")

    new(clinician=clinician.user.username)

    assert the_course(nid).owner == clinician.user


def test_a_clinician_without_a_role_at_the_unit_leaves_the_course_unowned(
    new: Callable[..., Reply], nid: str, persona: Callable[[str], Persona]
) -> None:
    other_unit = persona("haukeland_clinician")

    new(clinician=other_unit.user.username)

    assert the_course(nid).owner is None


# --- Idempotent and order-safe ---------------------------------------------------------------


def test_the_same_message_twice_changes_nothing(nid: str) -> None:
    text = booking(nid)
    first = send(text, now=BOOKED_AT)
    second = send(text, now=BOOKED_AT + dt.timedelta(minutes=1))

    assert (first.code, second.code) == ("AA", "AA")
    assert Course.objects.filter(patient__national_id=nid).count() == 1
    assert Order.objects.filter(course__patient__national_id=nid).count() == 1
    second.message.refresh_from_db()
    assert second.message.state == MessageState.IGNORED
    assert "behandlet før" in second.message.outcome


def test_an_older_message_arriving_after_a_newer_one_is_recorded_and_ignored(
    new: Callable[..., Reply], nid: str
) -> None:
    new()  # booked for 1 April
    moved_at = BOOKED_AT + dt.timedelta(hours=2)
    new("S14", now=moved_at, start=oslo(2026, 4, 8, 9, 0))
    # A resend of a move made earlier (to 3 April) arrives last.
    late = new("S13", now=BOOKED_AT + dt.timedelta(hours=1), start=oslo(2026, 4, 3, 9, 0))

    assert late.code == "AA"
    late.message.refresh_from_db()
    assert late.message.state == MessageState.IGNORED
    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 8)


def test_a_move_arriving_before_its_booking_books_the_course_and_the_booking_is_ignored(
    new: Callable[..., Reply], nid: str
) -> None:
    new("S14", now=BOOKED_AT + dt.timedelta(hours=1), start=oslo(2026, 4, 8, 9, 0))
    booking = new("S12", now=BOOKED_AT)

    booking.message.refresh_from_db()
    assert booking.message.state == MessageState.IGNORED
    assert Course.objects.filter(patient__national_id=nid).count() == 1
    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 8)


# --- Moves (the manual's "Dersom timen flyttes") ---------------------------------------------


def test_a_move_of_10_days_before_the_questionnaire_is_sent_replans_it(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    reply = new("S13", now=oslo(2026, 3, 5, 10, 0), start=oslo(2026, 4, 11, 9, 0))

    course = the_course(nid)
    assert course.planned_consultation_date == dt.date(2026, 4, 11)
    order = pre_treatment(course)
    assert order.state == OrderState.PLANNED
    assert order.send_at == oslo(2026, 3, 26, 8, 0)
    assert order.expires_at == oslo(2026, 4, 12, 0, 0)
    reply.message.refresh_from_db()
    assert "tilpasset" in reply.message.outcome


def test_a_move_of_10_days_after_sending_keeps_the_order_and_its_deadline_follows(
    new: Callable[..., Reply], nid: str, tmp_path: Any
) -> None:
    new()
    send_due(oslo(2026, 3, 16, 8, 1), tmp_path)
    sent = pre_treatment(the_course(nid))
    assert sent.state == OrderState.SENT

    new("S13", now=oslo(2026, 3, 20, 10, 0), start=oslo(2026, 4, 11, 9, 0))

    course = the_course(nid)
    order = pre_treatment(course)
    assert order.pk == sent.pk  # the same order and code: nothing new reaches the patient
    assert order.state == OrderState.SENT
    assert order.expires_at == oslo(2026, 4, 12, 0, 0)
    assert order.remind_at == oslo(2026, 4, 9, 8, 0)
    assert course.planned_consultation_date == dt.date(2026, 4, 11)


def test_a_move_of_45_days_after_sending_deletes_the_old_course_and_creates_a_new_one(
    new: Callable[..., Reply], nid: str, tmp_path: Any, persona: Callable[[str], Persona]
) -> None:
    clinician = persona("clinician")
    new(clinician=clinician.user.username)
    send_due(oslo(2026, 3, 16, 8, 1), tmp_path)
    old = the_course(nid)

    reply = new("S13", now=oslo(2026, 3, 20, 10, 0), start=oslo(2026, 5, 16, 9, 0))

    old.refresh_from_db()
    assert old.status == Course.Status.DELETED
    assert pre_treatment(old).state == OrderState.CANCELLED
    new_course = the_course(nid)
    assert new_course.pk != old.pk
    assert new_course.replaces_id == old.pk
    assert new_course.planned_consultation_date == dt.date(2026, 5, 16)
    assert new_course.referral_date == REFERRAL
    assert new_course.owner == clinician.user  # the new course stays with the old one's owner
    assert pre_treatment(new_course).state == OrderState.PLANNED
    assert Appointment.objects.get(appointment_id="A-1").course == new_course
    reply.message.refresh_from_db()
    assert reply.message.course == new_course

    # The next move follows the new course.
    new("S14", now=oslo(2026, 3, 21, 10, 0), start=oslo(2026, 5, 18, 9, 0))
    assert the_course(nid).planned_consultation_date == dt.date(2026, 5, 18)


def test_a_move_of_a_course_whose_behandlerskjema_is_completed_waits_with_the_reason(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    Response.objects.filter(course=the_course(nid), kind=FormKind.CLINICIAN).update(
        status=FormStatus.FERDIGSTILT
    )

    reply = new("S13", now=oslo(2026, 3, 5), start=oslo(2026, 4, 20, 9, 0))

    assert reply.code == "AA"
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.FAILED
    assert "ferdigstilt" in reply.message.outcome
    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 1)


# --- Cancellation and no-show ----------------------------------------------------------------


def test_a_cancellation_deletes_the_course_and_cancels_its_orders(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    course = the_course(nid)

    reply = new("S15", now=oslo(2026, 3, 4))

    course.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert pre_treatment(course).state == OrderState.CANCELLED
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.APPLIED


def test_a_cancellation_of_a_course_with_a_completed_form_keeps_it_for_the_local_registrar(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    course = the_course(nid)
    Response.objects.create(
        course=course,
        kind=FormKind.PRE_TREATMENT,
        status=FormStatus.FERDIGSTILT,
        consent=True,
        definition_version=Response.objects.get(course=course).definition_version,
    )

    reply = new("S15", now=oslo(2026, 3, 20))

    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert pre_treatment(course).state == OrderState.CANCELLED
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.ATTENTION
    assert reply.message.is_waiting


def test_a_no_show_deletes_the_course_like_slett_skjema(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    course = the_course(nid)

    new("S26", now=oslo(2026, 4, 1, 12, 0))

    course.refresh_from_db()
    assert course.status == Course.Status.DELETED
    assert "møtte ikke" in course.deleted_reason


def test_a_status_of_cancelled_in_sch_25_cancels_whatever_the_trigger(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    new("S14", now=oslo(2026, 3, 4), status="Cancelled")

    assert not Course.objects.filter(patient__national_id=nid, status=Course.Status.ACTIVE).exists()


# --- What cannot be applied ------------------------------------------------------------------


def test_an_invalid_fodselsnummer_is_answered_ae_with_the_reason_and_kept(
    new: Callable[..., Reply],
) -> None:
    reply = new(national_id="24019491118")

    assert reply.code == "AE"
    assert "fødselsnummer" in reply.text.lower()
    err = reply.ack.segment("ERR")
    assert str(err(3)(1)(1)) == "102"
    assert reply.message.state == MessageState.FAILED
    assert reply.message.patient_masked == "240194 *****"
    assert not Course.objects.exists()


def test_an_unknown_unit_is_answered_ae_and_applied_after_behandle_pa_nytt_once_it_exists(
    new: Callable[..., Reply], nid: str
) -> None:
    from nnrr.accounts.models import Unit

    reply = new(unit=999001)

    assert reply.code == "AE"
    assert "999001" in reply.text
    assert reply.message.state == MessageState.FAILED
    assert reply.message.unit is None

    Unit.objects.create(resh_id=999001, name="Ny enhet", short_name="Ny", organisation_number="1")
    outcome = services.reprocess(
        actor=Actor.system("test"), message=reply.message, now=BOOKED_AT + dt.timedelta(hours=1)
    )

    assert outcome.state == MessageState.APPLIED
    assert the_course(nid).unit_id == 999001


def test_without_a_referral_date_the_message_waits_until_staff_give_it(
    new: Callable[..., Reply], nid: str
) -> None:
    reply = new(referral_date=None)

    assert reply.code == "AA"
    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.WAITING
    assert not Course.objects.exists()

    services.reprocess(
        actor=Actor.system("test"),
        message=reply.message,
        now=BOOKED_AT + dt.timedelta(hours=1),
        referral_date=dt.date(2026, 2, 25),
    )

    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.APPLIED
    assert the_course(nid).referral_date == dt.date(2026, 2, 25)


def test_a_message_that_is_not_hl7_is_answered_ar_and_kept_with_its_reason() -> None:
    reply = send("this is not a message", now=BOOKED_AT)

    assert reply.code == "AR"
    assert "MSH" in reply.text
    assert reply.message.state == MessageState.FAILED
    assert reply.message.raw == "this is not a message"


def test_a_message_type_other_than_siu_is_rejected(nid: str) -> None:
    text = booking(nid, start=None, referral_date=None).replace(
        "SIU^S12^SIU_S12", "ADT^A01^ADT_A01"
    )

    reply = send(text, now=BOOKED_AT)

    assert reply.code == "AR"
    assert str(reply.ack.segment("ERR")(3)(1)(1)) == "200"
    assert str(reply.ack.segment("MSA")(2)) == reply.message.message_id


def test_a_booking_without_a_start_time_is_answered_ae(nid: str) -> None:
    reply = send(
        booking(nid, start=None),
        now=BOOKED_AT,
    )

    assert reply.code == "AE"
    assert "AIS-4" in reply.text
    assert not Course.objects.exists()


def test_extra_segments_and_newline_separators_are_tolerated(nid: str) -> None:
    text = booking(nid)
    text = text.replace("RGS|1|A\r", "RGS|1|A\rZXX|custom|segment\rNTE|1||merknad\r")

    reply = send(text.replace("\r", "\r\n"), now=BOOKED_AT)

    assert reply.code == "AA"
    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 1)


def test_the_start_is_read_from_sch_11_when_there_is_no_ais(nid: str) -> None:
    text = booking(nid)
    text = "\r".join(seg for seg in text.split("\r") if not seg.startswith("AIS")) + "\r"

    send(text, now=BOOKED_AT)

    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 1)


# --- The unit's filter -----------------------------------------------------------------------


def test_a_unit_restricted_to_some_appointment_types_ignores_the_others(
    new: Callable[..., Reply], nid: str
) -> None:
    FeedSettings.objects.create(unit_id=ST_OLAVS, appointment_types=["NAKKERYGG"])

    other = new(appointment_type="KNE^Kneklinikk", appointment_id="K-1")
    counted = new(appointment_id="A-1")

    other.message.refresh_from_db()
    assert other.message.state == MessageState.IGNORED
    counted.message.refresh_from_db()
    assert counted.message.state == MessageState.APPLIED
    assert Course.objects.filter(patient__national_id=nid).count() == 1


def test_a_unit_restricted_to_some_resources_ignores_the_others(
    new: Callable[..., Reply], nid: str
) -> None:
    FeedSettings.objects.create(unit_id=ST_OLAVS, resources=["POLIKLINIKK-NR"])

    new(resource="ORTOPED", appointment_id="O-1")
    new(resource="POLIKLINIKK-NR", appointment_id="A-1")

    assert Course.objects.filter(patient__national_id=nid).count() == 1


# --- Units and audit -------------------------------------------------------------------------


def test_an_appointment_id_is_its_units_own(new: Callable[..., Reply], nid: str) -> None:
    new(unit=ST_OLAVS)
    new(unit=HAUKELAND, now=BOOKED_AT + dt.timedelta(minutes=1))

    assert sorted(
        Course.objects.filter(patient__national_id=nid).values_list("unit_id", flat=True)
    ) == sorted([ST_OLAVS, HAUKELAND])


def test_every_event_is_audited_with_its_source_and_message_id(
    new: Callable[..., Reply], nid: str
) -> None:
    reply = new(source="DIPS-STO")

    event = AuditEvent.objects.get(action="nnrr.appointment.book")
    assert event.detail["source"] == "DIPS-STO"
    assert event.detail["message_id"] == reply.message.message_id
    assert event.detail["appointment_id"] == "A-1"
    assert event.patient_id == the_course(nid).patient_id
    assert event.unit_id == ST_OLAVS
    received = AuditEvent.objects.get(action="nnrr.appointment.message_received")
    assert received.detail["message_id"] == reply.message.message_id
    assert received.detail["ack"] == "AA"


def test_messages_are_processed_oldest_first_across_batches(nid: str) -> None:
    for i in range(60):
        send(
            booking(
                nid,
                trigger="S12" if i == 0 else "S14",
                sent_at=BOOKED_AT + dt.timedelta(minutes=i),
                start=START + dt.timedelta(days=i % 5),
            ),
            now=BOOKED_AT + dt.timedelta(minutes=i),
            process=False,
        )

    assert services.process_pending(worker_id="w", now=BOOKED_AT + dt.timedelta(hours=2)) == 60

    assert not InboundMessage.objects.filter(state=MessageState.RECEIVED).exists()
    assert the_course(nid).planned_consultation_date == dt.date(2026, 4, 1) + dt.timedelta(
        days=59 % 5
    )


def test_a_referral_date_after_the_appointment_is_refused_and_leaves_no_patient_record(
    new: Callable[..., Reply], nid: str
) -> None:
    reply = new(referral_date=dt.date(2026, 4, 5))

    reply.message.refresh_from_db()
    assert reply.message.state == MessageState.FAILED
    assert "før henvisningsdato" in reply.message.outcome
    assert not Patient.objects.filter(national_id=nid).exists()


def test_an_appointment_booked_again_after_its_cancellation_gets_a_new_course(
    new: Callable[..., Reply], nid: str
) -> None:
    new()
    cancelled = the_course(nid)
    new("S15", now=oslo(2026, 3, 3))

    again = new("S14", now=oslo(2026, 3, 4), start=oslo(2026, 4, 15, 9, 0))

    again.message.refresh_from_db()
    assert again.message.state == MessageState.APPLIED
    course = the_course(nid)
    assert course.pk != cancelled.pk
    assert course.planned_consultation_date == dt.date(2026, 4, 15)


def test_a_move_of_a_course_staff_deleted_waits_for_the_local_registrar(
    new: Callable[..., Reply], nid: str, persona: Callable[[str], Persona]
) -> None:
    new()
    scheduling.delete_course(
        actor=persona("clinician").actor,
        course=the_course(nid),
        reason="Vil ikke delta",
        now=BOOKED_AT,
    )

    moved = new("S13", now=oslo(2026, 3, 4), start=oslo(2026, 4, 15, 9, 0))

    moved.message.refresh_from_db()
    assert moved.message.state == MessageState.ATTENTION
    assert not Course.objects.filter(patient__national_id=nid, status=Course.Status.ACTIVE).exists()


def test_a_message_in_iso_8859_1_keeps_the_norwegian_letters(nid: str) -> None:
    text = booking(
        nid,
        family_name="Ødegård",
        given_name="Åse",
    ).replace("UNICODE UTF-8", "8859/1")

    raw = mllp.receive(text.encode("latin-1"), now=BOOKED_AT)
    services.process_pending(worker_id="test", now=BOOKED_AT)

    assert b"MSA|AA|" in raw
    assert the_course(nid).patient.name == "Åse Ødegård"


def test_a_move_that_waited_with_its_booking_follows_once_the_henvisningsdato_is_given(
    new: Callable[..., Reply], nid: str
) -> None:
    booking = new(referral_date=None)
    moved = new("S14", now=oslo(2026, 3, 3), start=oslo(2026, 4, 8, 9, 0), referral_date=None)
    moved.message.refresh_from_db()
    assert moved.message.state == MessageState.WAITING

    services.reprocess(
        actor=Actor.system("test"),
        message=booking.message,
        now=oslo(2026, 3, 4),
        referral_date=REFERRAL,
    )

    moved.message.refresh_from_db()
    assert moved.message.state == MessageState.APPLIED
    course = the_course(nid)
    assert (course.referral_date, course.planned_consultation_date) == (
        REFERRAL,
        dt.date(2026, 4, 8),
    )
    assert Course.objects.filter(patient__national_id=nid).count() == 1


# --- Another message profile -----------------------------------------------------------------


def test_a_unit_may_read_the_referral_date_and_appointment_id_from_other_fields(
    nid: str,
) -> None:
    FeedSettings.objects.create(
        unit_id=ST_OLAVS, field_map={"referral_date": "RF1.F9", "appointment_id": "SCH.F1"}
    )
    text = booking(nid, appointment_id="FILLER-9", referral_date=None)
    # This system sends the placer's id in SCH-1 and the referral's date in RF1-9.
    text = text.replace("SCH||FILLER-9^DIPS|", "SCH|PLACER-7^DIPS|FILLER-9^DIPS|")
    text = text.replace("RGS|1|A", "RF1|A|||||REF-1||20260101|20260215\rRGS|1|A")

    reply = send(text, now=BOOKED_AT)

    assert reply.code == "AA"
    assert the_course(nid).referral_date == dt.date(2026, 2, 15)
    assert Appointment.objects.get().appointment_id == "PLACER-7"


def test_a_units_field_map_that_is_not_an_accessor_is_answered_ae_with_the_reason(
    new: Callable[..., Reply],
) -> None:
    FeedSettings.objects.create(unit_id=ST_OLAVS, field_map={"referral_date": "the RF1 date"})

    reply = new()

    assert reply.code == "AE"
    assert "feltoppsett" in reply.text
