"""The dispatch worker with a frozen clock: ``dispatch.run_pass`` at explicit Oslo times.

Dates: a booking saved Monday 2 March 2026 at 14:00 for a consultation on Thursday 12 March
(10 days ahead). Its pre-treatment form goes out at 08:00 the next morning (3 March), the
reminder at 08:00 on 10 March, and the order expires at the end of 12 March.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.lib.dates import OSLO
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.portal.services import order_by_token
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import dispatch
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.channels import ChannelError, FileChannel, OutgoingMessage
from nnrr.scheduling.models import (
    Message,
    MessageKind,
    MessageState,
    Order,
    OrderState,
    WorkerHeartbeat,
)
from tests.conftest import (
    ST_OLAVS,
    Persona,
    book,
    make_patient,
)
from tests.questionnaires.helpers import complete_answers


def oslo(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=OSLO)


BOOKED_AT = oslo(2026, 3, 2, 14, 0)
PLANNED = dt.date(2026, 3, 12)
SEND_AT = oslo(2026, 3, 3, 8, 0)
REMIND_AT = oslo(2026, 3, 10, 8, 0)
END_OF_CONSULTATION_DAY = oslo(2026, 3, 13, 0, 0)

PATIENT_NAME = "Ingrid Testesen"


class Crash(BaseException):
    """The worker process dies (not an Exception: nothing in the worker may swallow it)."""


class CountingFileChannel(FileChannel):
    """The file channel, counting hand-overs per outbox key."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sent: list[str] = []

    def send(self, message: OutgoingMessage) -> None:
        self.sent.append(message.key)
        super().send(message)


@pytest.fixture
def outbox(tmp_path: Path) -> CountingFileChannel:
    return CountingFileChannel(tmp_path / "outbox")


@pytest.fixture
def clinician(persona: Callable[[str], Persona]) -> Persona:
    return persona("clinician")


@pytest.fixture
def course(clinician: Persona) -> Course:
    patient = make_patient(ST_OLAVS, name=PATIENT_NAME, email="ingrid@example.no")
    return book(clinician, patient, planned_in_days=10, now=BOOKED_AT)


@pytest.fixture
def crash_hook() -> Iterator[Callable[[Callable[[Message], None] | None], None]]:
    """Set ``dispatch.after_send_hook`` for one test; the original is always put back."""
    original = dispatch.after_send_hook

    def set_hook(hook: Callable[[Message], None] | None) -> None:
        dispatch.after_send_hook = hook

    yield set_hook
    dispatch.after_send_hook = original


def pre_treatment_order(course: Course) -> Order:
    return Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT)


def eml_files(channel: FileChannel) -> list[Path]:
    return sorted(channel.directory.glob("*.eml")) if channel.directory.exists() else []


def run(now: dt.datetime, channel: FileChannel, worker_id: str = "w-test") -> dispatch.PassResult:
    return dispatch.run_pass(worker_id=worker_id, now=now, channel=channel)


def consent_to(course: Course, now: dt.datetime) -> Response:
    return scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 2, "PainExperiencesNoActivity": 6},
        consent=True,
        source=Source.PORTAL,
        now=now,
    )


# --- Invitation, reminder, expiry ------------------------------------------------------------


def test_booking_ten_days_ahead_is_not_sent_before_eight_the_next_morning(
    course: Course, outbox: CountingFileChannel
) -> None:
    result = run(oslo(2026, 3, 3, 7, 59), outbox)

    assert result.invitations == 0 and result.sent == 0
    assert pre_treatment_order(course).state == OrderState.PLANNED
    assert not Message.objects.exists()
    assert eml_files(outbox) == []


def test_booking_ten_days_ahead_is_sent_at_eight_the_next_morning(
    course: Course, outbox: CountingFileChannel
) -> None:
    run(oslo(2026, 3, 3, 7, 59), outbox)
    result = run(SEND_AT, outbox)

    order = pre_treatment_order(course)
    assert (result.invitations, result.sent) == (1, 1)
    assert order.state == OrderState.SENT
    assert order.sent_at == SEND_AT
    message = Message.objects.get(order=order)
    assert message.kind == MessageKind.INVITATION
    assert message.state == MessageState.SENT
    assert message.sent_at == SEND_AT
    assert message.recipient == "i***@example.no"  # masked in the dispatch log
    assert [p.name for p in eml_files(outbox)] == [f"{order.pk}-invitation.eml"]


def test_invitation_carries_the_portal_link_and_no_health_data(
    course: Course, clinician: Persona, outbox: CountingFileChannel
) -> None:
    # Give the course clinical content the message must never reveal.
    clinician_form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    form_services.save_draft(
        actor=clinician.actor,
        response=clinician_form,
        answers={"DiagnosticNumber1": "M54.5", "DiagnosticNumber1Name": "Lumbago"},
        expected_version=clinician_form.version,
        now=BOOKED_AT,
    )
    run(SEND_AT, outbox)

    order = pre_treatment_order(course)
    parsed = email.message_from_bytes(
        outbox.path_for(f"{order.pk}-invitation").read_bytes(), policy=email.policy.default
    )
    subject, body = str(parsed["Subject"]), parsed.get_content()
    assert parsed["To"] == "ingrid@example.no"
    assert parsed["Message-ID"] == f"<{order.pk}-invitation@nnrr.invalid>"

    link = next(line.strip() for line in body.splitlines() if "/eprom/lenke/" in line)
    token = link.rstrip("/").rsplit("/", 1)[-1]
    found = order_by_token(token)
    assert found is not None and found.pk == order.pk
    assert "12.03.2026" in body  # the deadline: the consultation day

    patient = course.patient
    text = f"{subject}\n{body}"
    for secret in (
        PATIENT_NAME,
        "Ingrid",
        "Testesen",
        patient.national_id,
        patient.birth_date.strftime("%d.%m.%Y"),
        "M54",
        "Lumbago",
        "Pasientskjema før behandling",
    ):
        assert secret not in text, secret
    # The sender hospital is named, so the patient knows who asks (issue 18), in one sentence
    # with the reason; the clinic is only "poliklinikken", never its speciality.
    assert f"{course.unit.name} ber deg svare på et spørreskjema før timen din" in body
    assert "nakke" not in text.lower()
    assert "rygg" not in text.lower()


def test_reminder_goes_two_days_before_the_consultation(
    course: Course, outbox: CountingFileChannel
) -> None:
    run(SEND_AT, outbox)
    early = run(oslo(2026, 3, 10, 7, 59), outbox)
    on_time = run(REMIND_AT, outbox)

    order = pre_treatment_order(course)
    assert early.reminders == 0
    assert (on_time.reminders, on_time.sent) == (1, 1)
    assert order.state == OrderState.REMINDED
    assert order.reminded_at == REMIND_AT
    reminder = Message.objects.get(order=order, kind=MessageKind.REMINDER)
    assert reminder.state == MessageState.SENT
    assert outbox.path_for(f"{order.pk}-reminder").exists()
    parsed = email.message_from_bytes(
        outbox.path_for(f"{order.pk}-reminder").read_bytes(), policy=email.policy.default
    )
    assert "Påminnelse" in str(parsed["Subject"])


def test_reminder_not_sent_after_answer(course: Course, outbox: CountingFileChannel) -> None:
    run(SEND_AT, outbox)
    consent_to(course, oslo(2026, 3, 5, 19, 30))

    result = run(REMIND_AT, outbox)

    order = pre_treatment_order(course)
    assert result.reminders == 0
    assert order.state == OrderState.ANSWERED
    assert not Message.objects.filter(order=order, kind=MessageKind.REMINDER).exists()
    assert outbox.sent == [f"{order.pk}-invitation"]


class FailingOnceChannel(CountingFileChannel):
    """Refuses the first hand-over (a temporary outage), then works."""

    failed = False

    def send(self, message: OutgoingMessage) -> None:
        if not self.failed:
            self.failed = True
            raise ChannelError("temporarily unavailable")
        super().send(message)


def test_queued_reminder_is_dropped_when_the_answer_arrives_before_the_retry(
    course: Course, tmp_path: Path
) -> None:
    channel = FailingOnceChannel(tmp_path / "outbox")
    channel.failed = True  # the invitation goes through
    run(SEND_AT, channel)
    channel.failed = False  # the reminder hits an outage and waits for a retry
    run(REMIND_AT, channel)
    reminder = Message.objects.get(kind=MessageKind.REMINDER)
    assert reminder.state == MessageState.PENDING

    consent_to(course, oslo(2026, 3, 10, 8, 1))
    run(oslo(2026, 3, 10, 9, 0), channel)

    reminder.refresh_from_db()
    assert reminder.state == MessageState.SKIPPED
    assert channel.sent == [f"{pre_treatment_order(course).pk}-invitation"]


def test_reminder_is_not_sent_an_hour_early_in_summer_time(
    clinician: Persona, outbox: CountingFileChannel
) -> None:
    # Consultation Friday 10 April 2026; clocks go forward on Sunday 29 March.
    course = book(
        clinician, make_patient(ST_OLAVS), planned_in_days=25, now=oslo(2026, 3, 16, 12, 0)
    )
    assert pre_treatment_order(course).send_at == dt.datetime(2026, 3, 25, 7, 0, tzinfo=dt.UTC)
    run(oslo(2026, 3, 25, 8, 0), outbox)

    before = run(dt.datetime(2026, 4, 8, 5, 59, tzinfo=dt.UTC), outbox)  # 07:59 Oslo
    at_eight = run(dt.datetime(2026, 4, 8, 6, 0, tzinfo=dt.UTC), outbox)  # 08:00 Oslo

    assert before.reminders == 0
    assert at_eight.reminders == 1
    assert pre_treatment_order(course).reminded_at == oslo(2026, 4, 8, 8, 0)


def test_order_expires_at_the_end_of_the_consultation_day(
    course: Course, outbox: CountingFileChannel
) -> None:
    run(SEND_AT, outbox)
    run(oslo(2026, 3, 12, 23, 59), outbox)
    assert pre_treatment_order(course).state in (OrderState.SENT, OrderState.REMINDED)

    result = run(END_OF_CONSULTATION_DAY, outbox)

    order = pre_treatment_order(course)
    assert result.expired == 1
    assert order.state == OrderState.EXPIRED
    assert order.closed_at == END_OF_CONSULTATION_DAY


def test_running_the_pass_twice_sends_one_message_per_order_and_kind(
    clinician: Persona, outbox: CountingFileChannel
) -> None:
    courses = [
        book(clinician, make_patient(ST_OLAVS), planned_in_days=10, now=BOOKED_AT) for _ in range(3)
    ]
    for worker in ("w-1", "w-2", "w-1"):
        run(SEND_AT, outbox, worker_id=worker)
    for worker in ("w-1", "w-2"):
        run(REMIND_AT, outbox, worker_id=worker)

    for course in courses:
        order = pre_treatment_order(course)
        kinds = sorted(Message.objects.filter(order=order).values_list("kind", flat=True))
        assert kinds == [MessageKind.INVITATION, MessageKind.REMINDER]
    assert len(outbox.sent) == len(set(outbox.sent)) == 6
    assert len(eml_files(outbox)) == 6


def test_follow_up_whose_window_passed_is_recorded_as_missed(
    course: Course, clinician: Persona, outbox: CountingFileChannel
) -> None:
    run(SEND_AT, outbox)
    consent_to(course, oslo(2026, 3, 4, 10, 0))
    clinician_form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    scheduling.complete_clinician_form(
        actor=clinician.actor,
        response=clinician_form,
        answers=complete_answers(get_definition("1b"), visit=dt.date(2026, 3, 12)),
        expected_version=clinician_form.version,
        now=oslo(2026, 3, 12, 15, 0),
    )
    six = Order.objects.get(course=course, kind=FormKind.FOLLOW_UP_6)
    assert six.state == OrderState.PLANNED  # sent 12 Sep 2026, valid 42 days
    sent_before = list(outbox.sent)

    # The worker was down from before 12 September until 25 October 2026.
    result = run(oslo(2026, 10, 25, 0, 0), outbox)

    six.refresh_from_db()
    twelve = Order.objects.get(course=course, kind=FormKind.FOLLOW_UP_12)
    assert result.missed == 1
    assert six.state == OrderState.MISSED
    assert not Message.objects.filter(order=six).exists()
    assert twelve.state == OrderState.PLANNED
    assert outbox.sent == sent_before


# --- Purge of courses without consent ---------------------------------------------------------


def test_course_without_consent_is_kept_for_thirty_days_after_the_planned_date(
    course: Course, outbox: CountingFileChannel
) -> None:
    run(oslo(2026, 4, 10, 12, 0), outbox)  # 29 days after 12 March
    run(oslo(2026, 4, 11, 23, 59), outbox)  # the last minute of day 30

    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert not ConsentLogEntry.objects.exists()


def test_course_without_consent_is_purged_thirty_days_after_the_planned_date(
    course: Course, clinician: Persona, outbox: CountingFileChannel
) -> None:
    clinician_form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    form_services.save_draft(
        actor=clinician.actor,
        response=clinician_form,
        answers={"Interpreter": 1},
        expected_version=clinician_form.version,
        now=BOOKED_AT,
    )
    # A portal draft with the consent box ticked but never submitted is no consent.
    form_services.save_portal_draft(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        draft=None,
        now=oslo(2026, 3, 4, 9, 0),
    )

    result = run(oslo(2026, 4, 12, 0, 0), outbox)

    course.refresh_from_db()
    assert result.purged == 1
    assert course.status == Course.Status.PURGED
    responses = Response.objects.filter(course=course)
    assert responses.count() == 2
    assert all(r.answers == {} and r.scores == {} for r in responses)
    assert set(responses.values_list("status", flat=True)) == {FormStatus.SLETTET}
    entry = ConsentLogEntry.objects.get(course_id=course.pk)
    assert entry.reason == ConsentLogEntry.Reason.NO_CONSENT
    assert entry.national_id == course.patient.national_id
    assert entry.planned_consultation_date == PLANNED
    assert entry.unit_id == ST_OLAVS


def test_consented_course_is_never_purged(course: Course, outbox: CountingFileChannel) -> None:
    run(SEND_AT, outbox)
    consent_to(course, oslo(2026, 3, 5, 10, 0))

    result = run(oslo(2027, 3, 12, 12, 0), outbox)

    course.refresh_from_db()
    assert result.purged == 0
    assert course.status == Course.Status.ACTIVE
    form = Response.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    assert form.status == FormStatus.FERDIGSTILT
    assert form.answers["FamilyStatus"] == 2
    assert not ConsentLogEntry.objects.exists()


# --- The management command --------------------------------------------------------------------


def test_worker_command_with_now_runs_one_pass_at_that_time(course: Course, tmp_path: Path) -> None:
    out = io.StringIO()
    with override_settings(OUTBOX_DIR=tmp_path):
        call_command("worker", now="2026-03-03 07:59", stdout=out)
        assert pre_treatment_order(course).state == OrderState.PLANNED
        call_command("worker", now="2026-03-03 08:00", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines[0].startswith("2026-03-03T07:59:00+01:00 ") and "invitations=0" in lines[0]
    assert lines[1].startswith("2026-03-03T08:00:00+01:00 ")
    assert "invitations=1" in lines[1] and "sent=1" in lines[1]
    order = pre_treatment_order(course)
    assert order.state == OrderState.SENT
    assert order.sent_at == SEND_AT
    assert (tmp_path / f"{order.pk}-invitation.eml").exists()
    assert not WorkerHeartbeat.objects.exists()  # the one-shot worker retired


def test_worker_command_refuses_now_under_production_settings(
    course: Course, tmp_path: Path
) -> None:
    with (
        override_settings(PRODUCTION=True, OUTBOX_DIR=tmp_path),
        pytest.raises(CommandError, match="--now"),
    ):
        call_command("worker", now="2026-03-03 08:00", stdout=io.StringIO())

    assert pre_treatment_order(course).state == OrderState.PLANNED
    assert not Message.objects.exists()
    assert list(tmp_path.iterdir()) == []


def test_worker_command_rejects_a_malformed_now(course: Course, tmp_path: Path) -> None:
    with override_settings(OUTBOX_DIR=tmp_path), pytest.raises(CommandError, match="2026-12-01"):
        call_command("worker", now="tomorrow morning", stdout=io.StringIO())
    assert not Message.objects.exists()


# --- Crashes and reconciliation ----------------------------------------------------------------


def _die(message: Message) -> None:
    raise Crash


@override_settings(WORKER_LEASE_SECONDS=60)
def test_crash_between_send_and_record_is_reconciled_without_a_second_send(
    course: Course, outbox: CountingFileChannel, crash_hook: Any
) -> None:
    crash_hook(_die)
    with pytest.raises(Crash):
        run(SEND_AT, outbox, worker_id="dead-worker")
    crash_hook(None)
    message = Message.objects.get()
    assert message.state == MessageState.SENDING
    assert len(eml_files(outbox)) == 1

    result = run(SEND_AT + dt.timedelta(seconds=61), outbox, worker_id="new-worker")

    message.refresh_from_db()
    assert result.reconciled == 1
    assert message.state == MessageState.SENT
    assert message.sent_at == SEND_AT
    assert len(eml_files(outbox)) == 1
    assert outbox.sent == [message.key]
    run(SEND_AT + dt.timedelta(minutes=10), outbox, worker_id="new-worker")
    assert outbox.sent == [message.key]


@override_settings(WORKER_LEASE_SECONDS=60)
def test_claim_of_a_live_worker_is_not_reconciled(
    course: Course, outbox: CountingFileChannel, crash_hook: Any
) -> None:
    crash_hook(_die)
    with pytest.raises(Crash):
        run(SEND_AT, outbox, worker_id="slow-worker")
    crash_hook(None)

    # Within the lease the first worker may still be finishing its send.
    result = run(SEND_AT + dt.timedelta(seconds=30), outbox, worker_id="other-worker")

    message = Message.objects.get()
    assert result.reconciled == 0
    assert message.state == MessageState.SENDING
    assert message.claimed_by == "slow-worker"


class DiesBeforeSendingChannel(CountingFileChannel):
    """The process dies after the claim, before anything is handed over."""

    def send(self, message: OutgoingMessage) -> None:
        raise Crash


@override_settings(WORKER_LEASE_SECONDS=60)
def test_crash_after_claim_before_send_is_resent_exactly_once(
    course: Course, outbox: CountingFileChannel
) -> None:
    dying = DiesBeforeSendingChannel(outbox.directory)
    with pytest.raises(Crash):
        run(SEND_AT, dying, worker_id="dead-worker")
    message = Message.objects.get()
    assert message.state == MessageState.SENDING
    assert eml_files(outbox) == []

    later = SEND_AT + dt.timedelta(seconds=61)
    result = run(later, outbox, worker_id="new-worker")
    run(later + dt.timedelta(minutes=5), outbox, worker_id="new-worker")

    message.refresh_from_db()
    assert result.reconciled == 1
    assert message.state == MessageState.SENT
    assert message.attempts == 2
    assert outbox.sent == [message.key]
    assert len(eml_files(outbox)) == 1


class UncertainChannel(CountingFileChannel):
    """A channel that cannot tell afterwards whether a message went out (like SMTP)."""

    name = "uncertain"

    def confirm(self, key: str) -> bool | None:
        return None


@override_settings(WORKER_LEASE_SECONDS=60)
def test_uncertain_channel_marks_the_message_uncertain_and_does_not_resend(
    course: Course, tmp_path: Path, crash_hook: Any
) -> None:
    channel = UncertainChannel(tmp_path / "outbox")
    crash_hook(_die)
    with pytest.raises(Crash):
        run(SEND_AT, channel, worker_id="dead-worker")
    crash_hook(None)

    result = run(SEND_AT + dt.timedelta(seconds=61), channel, worker_id="new-worker")
    run(SEND_AT + dt.timedelta(hours=1), channel, worker_id="new-worker")

    message = Message.objects.get()
    assert result.reconciled == 1
    assert message.state == MessageState.UNCERTAIN
    assert message.outcome
    assert channel.sent == [message.key]


@override_settings(WORKER_LEASE_SECONDS=60)
def test_reconcile_leaves_a_message_claimed_by_a_worker_that_just_started(
    course: Course, outbox: CountingFileChannel
) -> None:
    """Worker B reconciles while worker A starts its pass: A's heartbeat and claim land after
    B looked for live workers. B must not take A's in-flight message for an orphan."""
    dispatch.enqueue_invitations(SEND_AT, outbox)
    message = Message.objects.get()
    interleaved = False

    def worker_a_starts(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal interleaved
        result = execute(sql, params, many, context)
        if (
            not interleaved
            and sql.lstrip().upper().startswith("SELECT")
            and "scheduling_workerheartbeat" in sql
        ):
            interleaved = True
            dispatch.heartbeat("worker-a", SEND_AT)
            Message.objects.filter(pk=message.pk).update(
                state=MessageState.SENDING, claimed_by="worker-a", claimed_at=SEND_AT
            )
        return result

    with connection.execute_wrapper(worker_a_starts):
        dispatch.reconcile("worker-b", SEND_AT, outbox, dt.timedelta(seconds=60))

    message.refresh_from_db()
    assert interleaved
    assert message.state == MessageState.SENDING
    assert message.claimed_by == "worker-a"


@override_settings(WORKER_LEASE_SECONDS=60)
def test_reconcile_by_one_live_worker_leaves_another_live_workers_heartbeat_and_claims(
    clinician: Persona, outbox: CountingFileChannel
) -> None:
    """Workers A and B are both alive (heartbeats within the lease); C stopped 5 minutes ago.
    A's reconcile settles C's message and forgets C's heartbeat, but keeps B's heartbeat, so B's
    message in flight is not taken for abandoned, in this pass nor in A's next one."""
    for n in range(2):
        patient = make_patient(ST_OLAVS, name=f"Pasient {n}", email=f"p{n}@example.no")
        book(clinician, patient, planned_in_days=10, now=BOOKED_AT)
    dispatch.enqueue_invitations(SEND_AT, outbox)
    of_b, of_c = Message.objects.order_by("id")
    now = SEND_AT + dt.timedelta(minutes=5)
    Message.objects.filter(pk=of_b.pk).update(
        state=MessageState.SENDING, claimed_by="worker-b", claimed_at=now - dt.timedelta(seconds=30)
    )
    Message.objects.filter(pk=of_c.pk).update(
        state=MessageState.SENDING, claimed_by="worker-c", claimed_at=SEND_AT
    )
    dispatch.heartbeat("worker-c", SEND_AT)
    dispatch.heartbeat("worker-b", now - dt.timedelta(seconds=30))
    dispatch.heartbeat("worker-a", now)
    lease = dt.timedelta(seconds=60)

    assert dispatch.reconcile("worker-a", now, outbox, lease) == 1

    alive = set(WorkerHeartbeat.objects.values_list("worker_id", flat=True))
    assert alive == {"worker-a", "worker-b"}
    of_b.refresh_from_db()
    of_c.refresh_from_db()
    assert (of_b.state, of_b.claimed_by) == (MessageState.SENDING, "worker-b")
    # C's message never reached the outbox: back in the queue, unclaimed.
    assert (of_c.state, of_c.claimed_by) == (MessageState.PENDING, "")

    # A's next pass, 20 s later: B (seen 50 s ago) is still within its lease.
    later = now + dt.timedelta(seconds=20)
    dispatch.heartbeat("worker-a", later)
    assert dispatch.reconcile("worker-a", later, outbox, lease) == 0
    of_b.refresh_from_db()
    assert (of_b.state, of_b.claimed_by) == (MessageState.SENDING, "worker-b")
    assert outbox.sent == []


def test_patient_without_address_is_recorded_as_failed(
    clinician: Persona, outbox: CountingFileChannel
) -> None:
    class NoAddressChannel(CountingFileChannel):
        def address_for(self, patient: Patient) -> str | None:
            return None

    channel = NoAddressChannel(outbox.directory)
    course = book(clinician, make_patient(ST_OLAVS, email=""), planned_in_days=10, now=BOOKED_AT)

    result = run(SEND_AT, channel)

    message = Message.objects.get(order__course=course)
    assert result.failed == 1
    assert message.state == MessageState.FAILED
    assert "engangskode" in message.outcome
    assert channel.sent == []


def test_expired_and_missed_orders_are_closed_at_the_pass_with_their_reason(persona: Any) -> None:
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.models import Order, OrderState

    clerk = persona("clerk")
    sent = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name="A Sendt"))).first()
    planned = Order.objects.filter(
        course=book(clerk, make_patient(ST_OLAVS, name="B Planlagt"))
    ).first()
    assert sent is not None and planned is not None
    now = timezone.now()
    Order.objects.filter(pk=sent.pk).update(state=OrderState.SENT, expires_at=now)
    Order.objects.filter(pk=planned.pk).update(state=OrderState.PLANNED, expires_at=now)
    versions = {o.pk: o.version for o in Order.objects.filter(pk__in=[sent.pk, planned.pk])}

    assert dispatch.expire_orders(now) == (1, 1)

    sent.refresh_from_db()
    planned.refresh_from_db()
    assert (sent.state, sent.closed_at, sent.close_reason) == (
        OrderState.EXPIRED,
        now,
        "Svarfristen gikk ut",
    )
    assert (planned.state, planned.closed_at, planned.close_reason) == (
        OrderState.MISSED,
        now,
        "Ikke sendt: svarfristen var passert",
    )
    # One step each: a page holding the order's version sees it was changed, once.
    assert sent.version == versions[sent.pk] + 1
    assert planned.version == versions[planned.pk] + 1


def test_messages_no_longer_wanted_are_skipped_with_the_reason_and_counted(
    persona: Any, tmp_path: Any
) -> None:
    """At the deadline itself nothing goes out; a reminder to an answered order and an invitation
    to a cancelled one say why; each skip and each failure is counted in the pass's tally."""
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel, NoneChannel
    from nnrr.scheduling.models import Message, MessageKind, MessageState, Order, OrderState

    clerk = persona("clerk")
    now = timezone.now()
    orders = []
    for n, state in enumerate([OrderState.SENT, OrderState.ANSWERED, OrderState.CANCELLED]):
        order = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name=f"P {n}")))[0]
        order.state = state
        order.expires_at = now if n == 0 else now + dt.timedelta(days=3)
        orders.append(order)
    kinds = [MessageKind.INVITATION, MessageKind.REMINDER, MessageKind.INVITATION]
    channel = FileChannel(tmp_path / "outbox")
    result = dispatch.PassResult()
    outcomes = [
        dispatch._deliver_claimed(
            Message(pk=n + 1, order=order, kind=kind, key=f"{order.pk}-{kind}"),
            now,
            channel,
            result,
        )[1]
        for n, (order, kind) in enumerate(zip(orders, kinds, strict=True))
    ]
    assert outcomes == [
        {"state": MessageState.SKIPPED, "outcome": "Fristen er passert"},
        {"state": MessageState.SKIPPED, "outcome": "Ikke sendt: besvart"},
        {"state": MessageState.SKIPPED, "outcome": "Ikke sendt: kansellert"},
    ]
    assert (result.skipped, result.sent, result.failed) == (3, 0, 0)
    assert not list((tmp_path / "outbox").glob("*.eml"))

    # A channel with no address for the patient: failed, counted once per message.
    orders[0].expires_at = now + dt.timedelta(days=3)
    for n in range(2):
        message = Message(pk=10 + n, order=orders[0], kind=kinds[0], key=f"k{n}")
        _pk, fields = dispatch._deliver_claimed(message, now, NoneChannel(), result)
    assert fields == {
        "state": MessageState.FAILED,
        "outcome": "Ingen adresse for kanalen none; gi pasienten engangskode "
        "(Bestill på nytt → Jeg vil varsle mottaker selv)",
    }
    assert result.failed == 2


def test_reconciled_messages_say_what_became_of_them(persona: Any, tmp_path: Any) -> None:
    """After a worker stopped mid-send: a message found on file is sent, one not found goes
    back in the queue unclaimed, one on another channel (no way to ask) is uncertain."""
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import FileChannel, OutgoingMessage
    from nnrr.scheduling.models import Message, MessageKind, MessageState, Order

    clerk = persona("clerk")
    now = timezone.now()
    channel = FileChannel(tmp_path / "outbox")
    rows = []
    for n, on in enumerate(["file", "file", "email"]):
        order = Order.objects.filter(course=book(clerk, make_patient(ST_OLAVS, name=f"R {n}")))[0]
        rows.append(
            Message.objects.create(
                order=order,
                kind=MessageKind.INVITATION,
                key=f"{order.pk}-invitation",
                channel=on,
                state=MessageState.SENDING,
                claimed_by="stopped-worker",
                claimed_at=now - dt.timedelta(minutes=5),
                created_at=now,
                next_attempt_at=now,
            )
        )
    channel.send(OutgoingMessage(key=rows[0].key, to="a@example.no", subject="s", body="b"))

    assert dispatch.reconcile("live-worker", now, channel, dt.timedelta(seconds=60)) == 3

    sent, again, uncertain = (Message.objects.get(pk=row.pk) for row in rows)
    assert (sent.state, sent.outcome) == (MessageState.SENT, "Bekreftet sendt etter avbrudd")
    assert sent.sent_at == rows[0].claimed_at
    assert (again.state, again.outcome, again.claimed_by, again.next_attempt_at) == (
        MessageState.PENDING,
        "Sendes på nytt etter avbrudd",
        "",
        now,
    )
    assert (uncertain.state, uncertain.outcome) == (
        MessageState.UNCERTAIN,
        "Avbrutt under sending; kan ikke bekreftes. Sendes ikke på nytt.",
    )
