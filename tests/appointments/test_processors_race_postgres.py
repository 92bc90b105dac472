"""Two processor processes applying batches side by side whose messages book the same new
patients: a message that meets the other's new record keeps nothing and is applied on a later
pass, so every person gets one record and every message one course. PostgreSQL, separate
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
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course, Patient
from tests.appointments.helpers import new_national_id, oslo, siu
from tests.conftest import ST_OLAVS
from tests.scheduling.test_two_workers_postgres import _test_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PEOPLE = 20
APPOINTMENTS_EACH = 3

PROCESSOR = """
import os, django
django.setup()
from nnrr.appointments import services
from nnrr.scheduling.management.commands.worker import parse_now

services.BATCH = 7  # small batches: the two processes take turns through the messages
while services.process_pending(worker_id=f"p{os.getpid()}", now=parse_now("2026-03-02 15:00")):
    pass
"""


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("processes competing for rows need PostgreSQL")


def test_two_processors_booking_the_same_new_patients_make_one_record_each() -> None:
    now = oslo(2026, 3, 2, 14, 0)
    people = [new_national_id() for _ in range(PEOPLE)]
    # A person's appointments one after another: batches of 7 split some people between the
    # two processes, which then register the same new person at the same moment.
    for i, nid in enumerate(people):
        for round_ in range(APPOINTMENTS_EACH):
            mllp.receive(
                siu(
                    trigger="S12",
                    unit=ST_OLAVS,
                    sent_at=now,
                    appointment_id=f"RACE-{round_}-{i}",
                    national_id=nid,
                    start=oslo(2026, 4, 1 + round_, 9, 0),
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
    processors = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESSOR],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for processor in processors:
        _out, err = processor.communicate(timeout=300)
        assert processor.returncode == 0, err

    left = InboundMessage.objects.exclude(state=MessageState.APPLIED)
    assert not left.exists(), list(left.values_list("state", "outcome"))
    assert Patient.objects.filter(national_id__in=people).count() == PEOPLE
    assert Course.objects.count() == PEOPLE * APPOINTMENTS_EACH
    courses = Counter(Appointment.objects.values_list("course_id", flat=True))
    assert len(courses) == PEOPLE * APPOINTMENTS_EACH
    assert set(courses.values()) == {1}
    new_records = AuditEvent.objects.filter(
        action="nnrr.patient.registered", detail__already_registered=False
    )
    assert new_records.count() == PEOPLE
