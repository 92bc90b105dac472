"""Exactly once, also when rows already exist or another worker is mid-send (on SQLite as well
as PostgreSQL): an outbox row inserted twice, and a message another worker is sending."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import FileChannel, OutgoingMessage
from nnrr.scheduling.models import Message, MessageKind, MessageState, Order, OrderState
from nnrr.scheduling.services import message_key
from tests.conftest import ST_OLAVS, Persona, book, make_patient
from tests.scheduling.test_worker import BOOKED_AT, SEND_AT, CountingFileChannel


@pytest.fixture
def outbox(tmp_path: Path) -> CountingFileChannel:
    return CountingFileChannel(tmp_path / "outbox")


def _due_orders(who: Persona, count: int) -> list[Order]:
    orders = []
    for n in range(count):
        patient = make_patient(ST_OLAVS, name=f"Pasient {n}", email=f"p{n}@example.no")
        course = book(who, patient, planned_in_days=10, now=BOOKED_AT)
        orders.append(Order.objects.get(course=course, kind=FormKind.PRE_TREATMENT))
    return orders


def test_an_outbox_row_already_inserted_is_not_inserted_or_sent_twice(
    persona: object, outbox: CountingFileChannel
) -> None:
    """An earlier, interrupted pass left the invitation row of one order behind (its order still
    PLANNED): the batch insert meets the unique key, falls back row by row, and every order gets
    exactly one invitation."""
    orders = _due_orders(persona("clinician"), 3)  # type: ignore[operator]
    leftover = orders[1]
    Message.objects.create(
        order=leftover,
        kind=MessageKind.INVITATION,
        key=message_key(leftover.pk, MessageKind.INVITATION),
        channel=outbox.name,
        state=MessageState.PENDING,
        created_at=SEND_AT,
        next_attempt_at=SEND_AT,
    )

    result = dispatch.run_pass(worker_id="w-1", now=SEND_AT, channel=outbox)

    assert result.invitations == 2  # the two new rows; the leftover was already queued
    assert Message.objects.filter(kind=MessageKind.INVITATION).count() == 3
    assert sorted(outbox.sent) == sorted(
        message_key(order.pk, MessageKind.INVITATION) for order in orders
    )
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.SENT}


def test_running_again_after_the_rows_exist_queues_nothing(
    persona: object, outbox: CountingFileChannel
) -> None:
    _due_orders(persona("clinician"), 2)  # type: ignore[operator]
    dispatch.run_pass(worker_id="w-1", now=SEND_AT, channel=outbox)
    Order.objects.update(state=OrderState.PLANNED)  # as if the state change had been lost

    again = dispatch.run_pass(
        worker_id="w-2", now=SEND_AT + dt.timedelta(minutes=1), channel=outbox
    )

    assert again.invitations == 0
    assert len(outbox.sent) == 2
    assert Message.objects.count() == 2


class SecondWorkerDuringSend(FileChannel):
    """While this worker hands over its first message, a second worker runs a whole pass (in
    production that is another process; here it runs inside the send)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.sent_by: list[tuple[str, str]] = []
        self.worker = "w-first"
        self.nested = False

    def send(self, message: OutgoingMessage) -> None:
        self.sent_by.append((self.worker, message.key))
        super().send(message)
        if not self.nested:
            self.nested = True
            first, self.worker = self.worker, "w-second"
            dispatch.run_pass(worker_id="w-second", now=SEND_AT, channel=self)
            self.worker = first


def test_a_message_another_worker_is_sending_is_not_sent_again(
    persona: object, tmp_path: Path
) -> None:
    orders = _due_orders(persona("clinician"), 3)  # type: ignore[operator]
    channel = SecondWorkerDuringSend(tmp_path / "outbox")

    dispatch.run_pass(worker_id="w-first", now=SEND_AT, channel=channel)

    keys = [key for _worker, key in channel.sent_by]
    assert sorted(keys) == sorted(message_key(o.pk, MessageKind.INVITATION) for o in orders)
    assert len(keys) == len(set(keys))  # nobody sent a message twice
    # Each message was sent by the worker holding its claim: the second worker, running while
    # the first is mid-send, takes nothing the first has claimed (the first claims a whole
    # chunk, so here the second finds nothing left).
    claimed = dict(Message.objects.values_list("key", "claimed_by"))
    assert all(claimed[key] == worker for worker, key in channel.sent_by)
    assert set(Message.objects.values_list("state", flat=True)) == {MessageState.SENT}
    first_key = channel.sent_by[0][1]
    assert Message.objects.get(key=first_key).claimed_by == "w-first"
