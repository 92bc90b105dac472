"""``nnrr demo appointments``: the simulator's messages over a real MLLP connection create,
move and cancel courses by themselves, and the broken ones wait in "Mottatte avtaler"."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.appointments import services
from nnrr.appointments.models import InboundMessage, MessageState
from nnrr.demo.management.commands import demo as demo_command
from nnrr.patients.models import Course
from nnrr.scheduling.models import Order, OrderState
from tests.appointments.helpers import Listener
from tests.conftest import ST_OLAVS

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def settle(threads: bool) -> None:
    for _attempt in range(100 if threads else 0):
        if not InboundMessage.objects.filter(state=MessageState.RECEIVED).exists():
            return
        time.sleep(0.1)
    services.process_pending(worker_id="test", now=timezone.now())


def test_the_simulators_messages_create_move_and_cancel_courses_by_themselves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # On PostgreSQL the listener's own processor thread applies the messages, as in `nnrr
    # mllp`; SQLite's in-memory test database cannot take writes from three threads at once, so
    # there the test applies them between sends, in its own thread.
    threads = connection.vendor == "postgresql"
    if not threads:
        real_hand_out = demo_command.hand_out

        def processed_first(unit: Unit, appointment_id: str) -> bool:
            services.process_pending(worker_id="test", now=timezone.now())
            return real_hand_out(unit, appointment_id)

        monkeypatch.setattr(demo_command, "hand_out", processed_first)
    out = StringIO()
    with Listener(processing=threads) as listener:
        call_command(
            "demo",
            "appointments",
            "--unit",
            str(ST_OLAVS),
            "--count",
            "10",
            "--port",
            str(listener.port),
            stdout=out,
        )
        settle(threads)

    assert "sent to St. Olavs: AA 15, AE 2" in out.getvalue()
    states = {m.message_id: m for m in InboundMessage.objects.all()}
    assert len(states) == 16  # the duplicate shares its id with the booking
    # new, moved by days, moved by months (new course), out of order: active; one waits.
    active = Course.objects.filter(unit_id=ST_OLAVS, status=Course.Status.ACTIVE)
    assert active.count() == 5
    recreated = active.get(replaces__isnull=False)
    assert recreated.replaces.status == Course.Status.DELETED
    assert Order.objects.filter(course=recreated, state=OrderState.PLANNED).exists()
    # cancelled and no-show: deleted with their orders cancelled.
    deleted = Course.objects.filter(status=Course.Status.DELETED, replaced_by__isnull=True)
    assert deleted.count() == 2
    assert not Order.objects.filter(course__in=deleted, state=OrderState.PLANNED).exists()
    waiting = InboundMessage.objects.filter(unit_id=ST_OLAVS, state__in=["waiting", "failed"])
    assert sorted(waiting.values_list("ack_code", flat=True)) == ["AA", "AE", "AE"]
    assert InboundMessage.objects.filter(state=MessageState.IGNORED).count() == 2


def test_the_simulator_says_when_nothing_listens() -> None:
    with pytest.raises(CommandError, match="nothing listens"):
        call_command("demo", "appointments", "--unit", str(ST_OLAVS), "--port", "2579")
