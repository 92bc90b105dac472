"""A worker process that dies in the middle of a chunk, for real (``os._exit``: no cleanup, no
exception handlers), while a second worker runs; then two workers pick up after the lease.
Every order ends with exactly one message and one .eml file. PostgreSQL, separate processes.
"""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from nnrr.scheduling.models import Message, MessageState, Order, OrderState
from tests.scheduling.test_two_workers_postgres import _due_orders, _test_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ORDERS = 400
DIE_AFTER = 37  # sends, then the process is gone between "sent" and "recorded"

DYING_WORKER = f"""
import os, django
django.setup()
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import get_channel
from nnrr.scheduling.management.commands.worker import parse_now

sends = 0

def die(message):
    global sends
    sends += 1
    if sends == {DIE_AFTER}:
        os._exit(9)

dispatch.after_send_hook = die
now = parse_now("2026-03-03 08:00")
worker_id = dispatch.new_worker_id()
while dispatch.run_pass(worker_id=worker_id, now=now, channel=get_channel("file")).sent:
    pass
"""  # exits 0 (the test fails) should the other worker leave it too little to send


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("worker processes competing for rows need PostgreSQL")


def test_a_worker_killed_mid_chunk_loses_and_repeats_nothing(tmp_path: Path) -> None:
    orders = _due_orders(ORDERS)
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
        "NNRR_OUTBOX_DIR": str(outbox),
        "NNRR_CHANNEL": "file",
        "NNRR_TESTING": "1",
        "NNRR_DEMO": "1",
        "NNRR_LOG_LEVEL": "WARNING",
        "NNRR_WORKER_LEASE_SECONDS": "60",
    }

    def worker(now: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--now", now],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    dying = subprocess.Popen(
        [sys.executable, "-c", DYING_WORKER],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    alive = worker("2026-03-03 08:00")  # one pass beside it, at the same moment
    _out, err = dying.communicate(timeout=120)
    assert dying.returncode == 9, err
    _out, err = alive.communicate(timeout=120)
    assert alive.returncode == 0, err

    stranded = Message.objects.filter(state=MessageState.SENDING)
    assert stranded.exists()  # the dead worker's chunk, claimed and partly handed over

    # After the lease: two workers reconcile and finish at the same time.
    later = [worker("2026-03-03 08:02") for _ in range(2)]
    for process in later:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    # Anything left (a pass has a bound) goes out in one more pass.
    final = worker("2026-03-03 08:03")
    _out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err

    messages = Message.objects.all()
    per_order = Counter(messages.values_list("order_id", flat=True))
    assert set(per_order) == {o.pk for o in orders}
    assert set(per_order.values()) == {1}
    assert set(messages.values_list("state", flat=True)) == {MessageState.SENT}
    assert messages.filter(outcome="Bekreftet sendt etter avbrudd").count() >= 1
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.SENT}

    files = sorted(outbox.glob("*.eml"))
    assert len(files) == ORDERS
    message_ids = Counter(
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Message-ID"]
        for f in files
    )
    assert set(message_ids.values()) == {1}
    assert set(message_ids) == {
        f"<{key}@nnrr.invalid>" for key in messages.values_list("key", flat=True)
    }
