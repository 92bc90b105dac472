"""Two real worker processes at once on PostgreSQL send exactly one invitation per order.

The workers are separate processes (``manage.py worker --now``, a few one-shot passes each) on
the test database, so they compete through row locks and conditional updates exactly as in
production. ``transaction=True``: the processes must see the committed orders.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from nnrr.accounts.models import Unit
from nnrr.lib.dates import OSLO
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import codes
from nnrr.scheduling.models import Message, MessageKind, MessageState, Order, OrderState
from tests.conftest import ST_OLAVS

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: restore the migrations' data (units) if an earlier transactional
    # test flushed it.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ORDERS = 300
PASSES_PER_WORKER = 3
NOW = "2026-03-03 08:00"


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two workers competing for rows need PostgreSQL")


def _due_orders(
    count: int,
    *,
    referral_date: dt.date = dt.date(2026, 2, 20),
    planned_date: dt.date = dt.date(2026, 3, 19),
) -> list[Order]:
    unit = Unit.objects.get(pk=ST_OLAVS)
    patients = Patient.objects.bulk_create(
        Patient(
            unit=unit,
            national_id=f"9{n:010d}",
            id_kind=Patient.IdKind.SYNTHETIC,
            name=f"Pasient {n}",
            birth_date=dt.date(1970, 1, 1),
            sex=Patient.Sex.FEMALE,
            email=f"pasient{n}@example.no",
        )
        for n in range(count)
    )
    courses = Course.objects.bulk_create(
        Course(
            patient=p,
            unit=unit,
            referral_date=referral_date,
            planned_consultation_date=planned_date,
        )
        for p in patients
    )
    orders = []
    for n, course in enumerate(courses):
        order_id, salt = uuid.uuid4(), codes.new_salt()
        orders.append(
            Order(
                id=order_id,
                course=course,
                kind=FormKind.PRE_TREATMENT,
                state=OrderState.PLANNED,
                send_at=dt.datetime(2026, 3, 3, 7, 0, tzinfo=OSLO),
                remind_at=dt.datetime(2026, 3, 17, 8, 0, tzinfo=OSLO),
                expires_at=dt.datetime(2026, 3, 20, 0, 0, tzinfo=OSLO),
                code_hash=codes.code_hash(f"{n:08d}"),
                token_salt=salt,
                token_hash=codes.token_hash(codes.link_token(order_id, salt)),
            )
        )
    return Order.objects.bulk_create(orders)


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "postgres", safe="")
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{quote(db['NAME'], safe='')}"


def test_two_workers_at_once_send_exactly_one_invitation_per_order(tmp_path: Path) -> None:
    orders = _due_orders(ORDERS)
    outbox = tmp_path / "outbox"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "NNRR_OUTBOX_DIR": str(outbox),
        "NNRR_CHANNEL": "file",
        "NNRR_TESTING": "1",
        "NNRR_DEMO": "1",
        "NNRR_LOG_LEVEL": "WARNING",
    }
    loop = (
        f"for i in $(seq {PASSES_PER_WORKER}); do "
        f'"$PYTHON" manage.py worker --now "{NOW}" || exit 1; done'
    )
    workers = [
        subprocess.Popen(
            ["sh", "-c", loop],
            cwd=settings.BASE_DIR,
            env={**env, "PYTHON": sys.executable},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = []
    for worker in workers:
        stdout, stderr = worker.communicate(timeout=120)
        assert worker.returncode == 0, stderr
        outputs.append(stdout)

    # Every pass of both workers printed its counts; together they sent each order once.
    sent_per_worker = [sum(int(n) for n in re.findall(r"\bsent=(\d+)", out)) for out in outputs]
    assert sum(sent_per_worker) == ORDERS, outputs

    invitations = Message.objects.filter(kind=MessageKind.INVITATION)
    per_order = Counter(invitations.values_list("order_id", flat=True))
    assert set(per_order) == {o.pk for o in orders}
    assert set(per_order.values()) == {1}
    assert set(invitations.values_list("state", flat=True)) == {MessageState.SENT}
    assert not Message.objects.exclude(kind=MessageKind.INVITATION).exists()
    assert set(Order.objects.values_list("state", flat=True)) == {OrderState.SENT}

    files = sorted(outbox.glob("*.eml"))
    assert len(files) == ORDERS
    message_ids = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Message-ID"]
        for f in files
    ]
    assert len(set(message_ids)) == ORDERS
    assert set(message_ids) == {
        f"<{key}@nnrr.invalid>" for key in invitations.values_list("key", flat=True)
    }
    assert not list(outbox.glob(".tmp-*"))  # no half-written file left behind
