"""A processor process killed for real (``os._exit``) in the middle of a batch, while a second
processor runs beside it: every received message is applied exactly once. PostgreSQL, separate
processes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from nnrr.appointments import mllp
from nnrr.appointments.models import Appointment, InboundMessage, MessageState
from nnrr.patients.models import Course
from tests.appointments.helpers import new_national_id, oslo, siu
from tests.conftest import ST_OLAVS
from tests.scheduling.test_two_workers_postgres import _test_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MESSAGES = 240
DIE_AFTER = 31  # applied, not committed: the process is gone in the middle of its batch

PROCESSOR = """
import os, sys, django
django.setup()
from nnrr.appointments import services
from nnrr.scheduling.management.commands.worker import parse_now

die_after = int(sys.argv[1])
applied = 0

def die(message):
    global applied
    applied += 1
    if applied == die_after:
        os._exit(9)

services.after_apply_hook = die
while services.process_pending(worker_id=f"p{os.getpid()}", now=parse_now("2026-03-02 15:00")):
    pass
"""


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("processes competing for rows need PostgreSQL")


def test_a_processor_killed_mid_batch_loses_and_repeats_nothing() -> None:
    now = oslo(2026, 3, 2, 14, 0)
    for i in range(MESSAGES):
        mllp.receive(
            siu(
                trigger="S12",
                unit=ST_OLAVS,
                sent_at=now,
                appointment_id=f"CRASH-{i}",
                national_id=new_national_id(),
                start=oslo(2026, 4, 1, 9, 0),
                referral_date=dt.date(2026, 2, 20),
            ).encode(),
            now=now,
        )
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
        "NNRR_TESTING": "1",
        "NNRR_DEMO": "1",
        "NNRR_LOG_LEVEL": "WARNING",
    }

    def processor(die_after: int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-c", PROCESSOR, str(die_after)],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    dying = processor(DIE_AFTER)
    alive = processor(10**9)
    _out, err = dying.communicate(timeout=300)
    assert dying.returncode == 9, err  # it really died with work in hand
    _out, err = alive.communicate(timeout=300)
    assert alive.returncode == 0, err
    # What the survivor had not reached (it stops when it finds nothing unlocked) is applied now.
    final = processor(10**9)
    _out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err

    left = InboundMessage.objects.exclude(state=MessageState.APPLIED)
    assert not left.exists(), list(left.values_list("state", "outcome"))
    assert Course.objects.count() == MESSAGES
    # One course per appointment, none twice.
    courses = Counter(Appointment.objects.values_list("course_id", flat=True))
    assert len(courses) == MESSAGES
    assert set(courses.values()) == {1}
    assert None not in courses
