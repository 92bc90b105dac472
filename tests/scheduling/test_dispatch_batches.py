"""The worker's batched path: many due messages per pass, claimed in chunks and recorded in one
statement per outcome. Runs on SQLite and, with DATABASE_URL, on PostgreSQL.

Dates as in test_worker.py: booked Monday 2 March 2026 at 14:00 for Thursday 12 March; the
invitation goes out at 08:00 on 3 March.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import ChannelError, FileChannel, OutgoingMessage
from nnrr.scheduling.models import Message, MessageState, Order, OrderState
from tests.conftest import ST_OLAVS, Persona, book, make_patient
from tests.scheduling.test_worker import BOOKED_AT, SEND_AT, CountingFileChannel, Crash

LEASE = 60


@pytest.fixture
def clinician(persona: Callable[[str], Persona]) -> Persona:
    return persona("clinician")


@pytest.fixture
def outbox(tmp_path: Path) -> CountingFileChannel:
    return CountingFileChannel(tmp_path / "outbox")


@pytest.fixture
def book_many(clinician: Persona) -> Callable[[int, str], list[Course]]:
    def make(count: int, tag: str = "p") -> list[Course]:
        return [
            book(
                clinician,
                make_patient(ST_OLAVS, name=f"Pasient {tag}{n}", email=f"{tag}{n}@example.no"),
                planned_in_days=10,
                now=BOOKED_AT,
            )
            for n in range(count)
        ]

    return make


@pytest.fixture
def hook() -> Iterator[Callable[[Callable[[Message], None] | None], None]]:
    original = dispatch.after_send_hook

    def set_hook(fn: Callable[[Message], None] | None) -> None:
        dispatch.after_send_hook = fn

    yield set_hook
    dispatch.after_send_hook = original


def eml_keys(channel: FileChannel) -> list[str]:
    return sorted(p.stem for p in channel.directory.glob("*.eml"))


def run(now: dt.datetime, channel: FileChannel, worker_id: str) -> dispatch.PassResult:
    return dispatch.run_pass(worker_id=worker_id, now=now, channel=channel)


def test_a_pass_sends_every_due_invitation_once_with_its_own_recipient(
    book_many: Callable[..., list[Course]], outbox: CountingFileChannel
) -> None:
    courses = book_many(25)

    result = run(SEND_AT, outbox, "w1")

    assert result.invitations == 25 and result.sent == 25
    messages = Message.objects.select_related("order__course__patient")
    assert messages.count() == 25
    for message in messages:
        # Each row carries its own patient's masked address, though all were recorded at once.
        local = message.order.course.patient.email.split("@")[0]
        assert message.recipient == f"{local[0]}***@example.no"
        assert message.state == MessageState.SENT
        assert message.sent_at == SEND_AT
    assert sorted(outbox.sent) == eml_keys(outbox) == sorted(m.key for m in messages)
    assert set(Order.objects.filter(course__in=courses).values_list("state", flat=True)) == {
        OrderState.SENT
    }
    assert run(SEND_AT + dt.timedelta(minutes=1), outbox, "w1").sent == 0
    assert len(outbox.sent) == 25


def test_queries_per_pass_do_not_grow_with_the_number_of_messages(
    book_many: Callable[..., list[Course]],
    outbox: CountingFileChannel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "CHUNK_FIRST", 100)  # the whole morning in one chunk
    book_many(3, "a")
    run(SEND_AT - dt.timedelta(hours=1), outbox, "w1")  # nothing due yet; the heartbeat row exists
    with CaptureQueriesContext(connection) as few:
        assert run(SEND_AT, outbox, "w1").sent == 3
    book_many(30, "b")
    with CaptureQueriesContext(connection) as many:
        assert run(SEND_AT + dt.timedelta(minutes=5), outbox, "w1").sent == 30

    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(outbox.sent) == len(set(outbox.sent)) == 33


class MixedChannel(CountingFileChannel):
    """Some patients cannot be reached, one hand-over fails for now, the rest go out."""

    def __init__(self, directory: Path, no_address: set[str], flaky: set[str]) -> None:
        super().__init__(directory)
        self.no_address, self.flaky = no_address, flaky

    def address_for(self, patient: Patient) -> str | None:
        return None if patient.email in self.no_address else patient.email

    def send(self, message: OutgoingMessage) -> None:
        if message.to in self.flaky:
            raise ChannelError("relay busy")
        super().send(message)


def test_one_chunk_records_each_message_with_its_own_outcome(
    book_many: Callable[..., list[Course]], tmp_path: Path
) -> None:
    courses = book_many(6)
    emails = [c.patient.email for c in courses]
    channel = MixedChannel(tmp_path / "outbox", no_address={emails[1]}, flaky={emails[2]})
    dispatch.enqueue_invitations(SEND_AT, channel)
    # Cancelled after the invitation was queued: the re-read before sending drops it.
    Order.objects.filter(course=courses[3]).update(state=OrderState.CANCELLED)

    result = dispatch.PassResult()
    dispatch.deliver_pending("w1", SEND_AT, channel, result)

    by_email = {
        m.order.course.patient.email: m
        for m in Message.objects.select_related("order__course__patient")
    }
    assert by_email[emails[1]].state == MessageState.FAILED
    assert "engangskode" in by_email[emails[1]].outcome
    flaky = by_email[emails[2]]
    assert flaky.state == MessageState.PENDING
    assert flaky.outcome == "relay busy"
    assert flaky.claimed_by == ""
    assert flaky.next_attempt_at == SEND_AT + dt.timedelta(minutes=2)
    assert by_email[emails[3]].state == MessageState.SKIPPED
    assert "kansellert" in by_email[emails[3]].outcome
    for email in (emails[0], emails[4], emails[5]):
        assert by_email[email].state == MessageState.SENT
        assert by_email[email].recipient == f"{email[0]}***@example.no"
        assert by_email[email].outcome == ""
    assert (result.sent, result.failed, result.skipped) == (3, 1, 1)
    assert sorted(channel.sent) == sorted(
        by_email[e].key for e in (emails[0], emails[4], emails[5])
    )

    # The retry goes out once the back-off has passed, and only then.
    channel.flaky = set()
    dispatch.deliver_pending("w1", SEND_AT + dt.timedelta(minutes=1), channel, result)
    assert Message.objects.get(pk=flaky.pk).state == MessageState.PENDING
    dispatch.deliver_pending("w1", SEND_AT + dt.timedelta(minutes=3), channel, result)
    assert Message.objects.get(pk=flaky.pk).state == MessageState.SENT
    assert Counter(channel.sent)[flaky.key] == 1


@override_settings(WORKER_LEASE_SECONDS=LEASE)
def test_crash_in_the_middle_of_a_chunk_sends_every_message_exactly_once(
    book_many: Callable[..., list[Course]], outbox: CountingFileChannel, hook: Any
) -> None:
    book_many(8)
    sent_before_crash: list[str] = []

    def die_on_the_third(message: Message) -> None:
        sent_before_crash.append(message.key)
        if len(sent_before_crash) == 3:
            raise Crash

    hook(die_on_the_third)
    with pytest.raises(Crash):
        run(SEND_AT, outbox, "dead-worker")
    hook(None)
    # The whole chunk was claimed before the first send; none of it was recorded.
    assert Message.objects.filter(state=MessageState.SENDING, claimed_by="dead-worker").count() == 8
    assert len(eml_keys(outbox)) == 3

    # Within the lease nobody touches the dead worker's claims.
    assert run(SEND_AT + dt.timedelta(seconds=30), outbox, "new-worker").reconciled == 0
    assert len(outbox.sent) == 3

    result = run(SEND_AT + dt.timedelta(seconds=LEASE + 1), outbox, "new-worker")

    assert result.reconciled == 8
    assert result.sent == 5  # the five never handed over go out now, in the same pass
    confirmed = Message.objects.filter(outcome="Bekreftet sendt etter avbrudd")
    assert sorted(confirmed.values_list("key", flat=True)) == sorted(sent_before_crash)
    assert set(confirmed.values_list("sent_at", flat=True)) == {SEND_AT}
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.SENT}
    assert Counter(outbox.sent).most_common(1)[0][1] == 1
    assert (
        sorted(outbox.sent)
        == eml_keys(outbox)
        == sorted(Message.objects.values_list("key", flat=True))
    )


@override_settings(WORKER_LEASE_SECONDS=LEASE)
def test_a_slow_channel_records_sent_messages_before_the_chunk_ends(
    book_many: Callable[..., list[Course]],
    outbox: CountingFileChannel,
    hook: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each send takes longer than CHUNK_SECONDS: every one is recorded as it goes, so a crash
    leaves only the message in flight (and those not yet sent) to reconcile."""
    monkeypatch.setattr(dispatch, "CHUNK_SECONDS", 0.0)
    book_many(5)
    count = 0

    def die_on_the_third(message: Message) -> None:
        nonlocal count
        count += 1
        if count == 3:
            raise Crash

    hook(die_on_the_third)
    with pytest.raises(Crash):
        run(SEND_AT, outbox, "dead-worker")
    hook(None)

    assert Message.objects.filter(state=MessageState.SENT).count() == 2
    assert Message.objects.filter(state=MessageState.SENDING).count() == 3

    result = run(SEND_AT + dt.timedelta(seconds=LEASE + 1), outbox, "new-worker")

    assert result.reconciled == 3
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.SENT}
    assert sorted(outbox.sent) == eml_keys(outbox)
    assert len(set(outbox.sent)) == len(outbox.sent) == 5


def test_a_second_worker_leaves_the_chunk_another_worker_holds(
    book_many: Callable[..., list[Course]], outbox: CountingFileChannel, monkeypatch: Any
) -> None:
    book_many(12)
    dispatch.enqueue_invitations(SEND_AT, outbox)
    dispatch.heartbeat("worker-a", SEND_AT)  # worker A is alive, in the middle of its pass
    held = dispatch._claim_chunk("worker-a", SEND_AT, 5)
    assert len(held) == 5

    monkeypatch.setattr(dispatch, "CHUNK_FIRST", 3)  # worker B works in small chunks
    result = run(SEND_AT, outbox, "worker-b")

    assert result.sent == 7
    held_keys = {m.key for m in held}
    assert held_keys.isdisjoint(outbox.sent)
    assert Message.objects.filter(state=MessageState.SENDING, claimed_by="worker-a").count() == 5

    # Worker A finishes its chunk: the claim was its own, so the record applies.
    result_a = dispatch.PassResult()
    outcomes = [dispatch._deliver_claimed(m, SEND_AT, outbox, result_a) for m in held]
    assert dispatch._record("worker-a", outcomes) == 5
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.SENT}
    assert len(outbox.sent) == len(set(outbox.sent)) == 12


def test_recording_for_a_worker_whose_claim_was_taken_over_changes_nothing(
    book_many: Callable[..., list[Course]], outbox: CountingFileChannel
) -> None:
    book_many(3)
    dispatch.enqueue_invitations(SEND_AT, outbox)
    held = dispatch._claim_chunk("slow-worker", SEND_AT, 10)
    # Reconciled meanwhile (the slow worker missed its lease): back to PENDING for others.
    Message.objects.update(state=MessageState.PENDING, claimed_by="")

    outcomes = [dispatch._deliver_claimed(m, SEND_AT, outbox, dispatch.PassResult()) for m in held]

    assert dispatch._record("slow-worker", outcomes) == 0
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.PENDING}


def test_reminders_are_queued_in_one_batch_and_skip_answered_orders(
    book_many: Callable[..., list[Course]], outbox: CountingFileChannel
) -> None:
    courses = book_many(4)
    run(SEND_AT, outbox, "w1")
    answered = Order.objects.get(course=courses[0], kind=FormKind.PRE_TREATMENT)
    Order.objects.filter(pk=answered.pk).update(state=OrderState.ANSWERED)
    remind_at = Order.objects.exclude(pk=answered.pk).values_list("remind_at", flat=True)[0]

    result = run(remind_at, outbox, "w1")

    assert result.reminders == 3 and result.sent == 3
    assert not Message.objects.filter(order=answered, kind="reminder").exists()
    assert Order.objects.filter(state=OrderState.REMINDED).count() == 3
    assert len(outbox.sent) == len(set(outbox.sent)) == 7


def test_a_worker_shutting_down_stops_after_the_chunk_in_hand(
    book_many: Callable[..., list[Course]],
    outbox: CountingFileChannel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dispatch, "CHUNK_FIRST", 4)
    book_many(10)
    asked = 0

    def stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > 1  # SIGTERM arrives while the first chunk is being sent

    result = dispatch.run_pass(worker_id="w1", now=SEND_AT, channel=outbox, stop=stop)

    assert result.invitations == 10
    assert result.sent == 4
    assert Message.objects.filter(state=MessageState.SENT).count() == 4
    assert Message.objects.filter(state=MessageState.PENDING).count() == 6  # for the next worker
    assert not Message.objects.filter(state=MessageState.SENDING).exists()
