"""The MLLP listener over a real socket: framing, one ACK per message on a kept-open connection,
the message stored before its ACK, and the processor applying it; and a processor killed in the
middle of a batch losing and repeating nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import hl7
import pytest
from django.db import IntegrityError
from hl7.client import MLLPClient

from nnrr.appointments import mllp, services
from nnrr.appointments.models import InboundMessage, MessageState
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from tests.appointments.helpers import Listener, new_national_id, oslo, siu
from tests.conftest import ST_OLAVS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def listener() -> Iterator[Listener]:
    with Listener() as running:
        yield running


def test_messages_sent_over_a_socket_are_stored_acknowledged_and_applied(
    listener: Listener,
) -> None:
    nid = new_national_id()
    now = dt.datetime.now(dt.UTC)
    start = now + dt.timedelta(days=40)
    booking = siu(
        trigger="S12",
        unit=ST_OLAVS,
        sent_at=now,
        appointment_id="SOCK-1",
        national_id=nid,
        start=start,
        referral_date=(now - dt.timedelta(days=5)).date(),
        message_id="SOCK-MSG-1",
    )
    move = siu(
        trigger="S14",
        unit=ST_OLAVS,
        sent_at=now + dt.timedelta(seconds=1),
        appointment_id="SOCK-1",
        national_id=nid,
        start=start + dt.timedelta(days=3),
        message_id="SOCK-MSG-2",
    )

    with MLLPClient("127.0.0.1", listener.port) as client:
        first = hl7.parse(client.send_message(booking).decode("utf-8").strip("\x0b\x1c\r"))
        # The message is in the database when its ACK arrives.
        assert InboundMessage.objects.filter(message_id="SOCK-MSG-1").exists()
        second = hl7.parse(client.send_message(move).decode("utf-8").strip("\x0b\x1c\r"))
        broken = client.send_message(b"not hl7 at all").decode("utf-8").strip("\x0b\x1c\r")

    assert str(first.segment("MSA")(1)) == "AA"
    assert str(first.segment("MSA")(2)) == "SOCK-MSG-1"
    assert str(second.segment("MSA")(1)) == "AA"
    assert str(second.segment("MSA")(2)) == "SOCK-MSG-2"
    assert "MSA|AR|" in broken
    assert InboundMessage.objects.count() == 3

    services.process_pending(worker_id="after-socket", now=dt.datetime.now(dt.UTC))

    course = Course.objects.get(patient__national_id=nid)
    assert course.planned_consultation_date == oslo_date(start + dt.timedelta(days=3))
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {
        MessageState.APPLIED,
        MessageState.FAILED,
    }


def test_a_message_in_pieces_and_two_in_one_packet_each_get_their_ack(
    listener: Listener,
) -> None:
    nid = new_national_id()
    now = dt.datetime.now(dt.UTC)
    texts = [
        siu(
            trigger="S12",
            unit=ST_OLAVS,
            sent_at=now,
            appointment_id=f"PIECE-{i}",
            national_id=nid,
            start=now + dt.timedelta(days=30 + i),
            referral_date=now.date(),
            message_id=f"PIECE-MSG-{i}",
        ).encode()
        for i in range(3)
    ]
    frames = [b"\x0b" + t + b"\x1c\r" for t in texts]

    with MLLPClient("127.0.0.1", listener.port) as client:
        client.socket.sendall(frames[0][:40])
        client.socket.sendall(frames[0][40:] + frames[1] + frames[2])
        received = b""
        while received.count(b"\x1c\r") < 3:
            chunk = client.socket.recv(4096)
            assert chunk, "the listener closed the connection"
            received += chunk

    acks = [hl7.parse(block.strip(b"\x0b").decode()) for block in received.split(b"\x1c\r")[:3]]
    assert [str(a.segment("MSA")(2)) for a in acks] == [f"PIECE-MSG-{i}" for i in range(3)]
    assert all(str(a.segment("MSA")(1)) == "AA" for a in acks)


def test_a_processor_killed_mid_batch_loses_no_message_and_applies_none_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = oslo(2026, 3, 2, 14, 0)
    people = [new_national_id() for _ in range(12)]
    for i, nid in enumerate(people):
        mllp.receive(
            siu(
                trigger="S12",
                unit=ST_OLAVS,
                sent_at=now,
                appointment_id=f"KILL-{i}",
                national_id=nid,
                start=oslo(2026, 4, 1, 9, 0),
                referral_date=dt.date(2026, 2, 20),
            ).encode(),
            now=now,
        )
    real_apply = services.apply_event
    applied = 0

    def dies_on_the_seventh(**kwargs: object) -> services.Outcome:
        nonlocal applied
        applied += 1
        if applied == 7:
            raise SystemExit("killed")  # not an error a handler catches: the process is gone
        return real_apply(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "apply_event", dies_on_the_seventh)
    with pytest.raises(SystemExit):
        services.process_pending(worker_id="dying", now=now)

    # Nothing of the batch was committed: every message is still waiting, no course exists.
    assert InboundMessage.objects.filter(state=MessageState.RECEIVED).count() == 12
    assert not Course.objects.exists()

    monkeypatch.setattr(services, "apply_event", real_apply)
    assert services.process_pending(worker_id="next", now=now) == 12

    assert Course.objects.count() == 12
    for nid in people:
        assert Course.objects.filter(patient__national_id=nid).count() == 1
    assert not InboundMessage.objects.exclude(state=MessageState.APPLIED).exists()


def test_a_message_that_cannot_be_stored_is_answered_ae_so_the_sender_keeps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def database_down(**kwargs: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(services, "store_message", database_down)
    text = siu(
        trigger="S12",
        unit=ST_OLAVS,
        sent_at=oslo(2026, 3, 2, 14, 0),
        appointment_id="DOWN-1",
        national_id=new_national_id(),
        start=oslo(2026, 4, 1, 9, 0),
        message_id="DOWN-MSG",
    )

    reply = mllp.receive(text.encode(), now=oslo(2026, 3, 2, 14, 0)).decode()

    assert "MSA|AE|DOWN-MSG|" in reply
    assert "207^Application internal error" in reply


def test_a_message_meeting_a_concurrent_write_stays_received_and_is_applied_next_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = oslo(2026, 3, 2, 14, 0)
    nid = new_national_id()
    mllp.receive(
        siu(
            trigger="S12",
            unit=ST_OLAVS,
            sent_at=now,
            appointment_id="RACE-1",
            national_id=nid,
            start=oslo(2026, 4, 1, 9, 0),
            referral_date=dt.date(2026, 2, 20),
        ).encode(),
        now=now,
    )
    real_apply = services.apply_event

    def another_worker_registered_the_patient(**kwargs: object) -> services.Outcome:
        raise IntegrityError("duplicate key value violates patient_one_record_per_unit")

    monkeypatch.setattr(services, "apply_event", another_worker_registered_the_patient)
    services.process_pending(worker_id="first", now=now)
    message = InboundMessage.objects.get(appointment_id="RACE-1")
    assert (message.state, message.attempts) == (MessageState.RECEIVED, 1)

    monkeypatch.setattr(services, "apply_event", real_apply)
    services.process_pending(worker_id="second", now=now)

    message.refresh_from_db()
    assert message.state == MessageState.APPLIED
    assert Course.objects.filter(patient__national_id=nid).count() == 1


def test_a_message_that_keeps_meeting_write_conflicts_is_given_up_for_staff(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = oslo(2026, 3, 2, 14, 0)
    mllp.receive(
        siu(
            trigger="S12",
            unit=ST_OLAVS,
            sent_at=now,
            appointment_id="RACE-2",
            national_id=new_national_id(),
            start=oslo(2026, 4, 1, 9, 0),
            referral_date=dt.date(2026, 2, 20),
        ).encode(),
        now=now,
    )

    def always_conflicts(**kwargs: object) -> services.Outcome:
        raise IntegrityError("conflict")

    monkeypatch.setattr(services, "apply_event", always_conflicts)
    for _pass in range(services.MAX_ATTEMPTS):
        services.process_pending(worker_id="w", now=now)

    message = InboundMessage.objects.get(appointment_id="RACE-2")
    assert message.state == MessageState.FAILED
    assert "IntegrityError" in message.outcome
