"""The scaled-out deployment of docs/operations.md on one machine: two web processes (gunicorn,
as on two hosts, each on its own loopback port) and two workers against one PostgreSQL, under
load from simulated clinic users and patients. Each browser's requests go to the two web
processes in turn, as through a round-robin proxy, so a session started on one is continued on
the other. Afterwards the database holds every receipted booking with its order and every
receipted submission exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone

from nnrr.demo import traffic
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.scheduling.models import Message, MessageState, Order, OrderState
from tests.scheduling.test_two_workers_postgres import _due_orders, _test_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

STAFF = 6
BOOKINGS_EACH = 4
PATIENTS = 12
DUE = 150  # questionnaires due now: the two workers send them while the load runs


def _due_now(count: int) -> list[Order]:
    """Orders whose questionnaire is due at this moment, as booking leaves them."""
    now = timezone.now()
    # Created booked ahead: a course created with a past consultation would be purged by the
    # workers already running before the dates below are set.
    orders = _due_orders(
        count,
        referral_date=oslo_date(now) - dt.timedelta(days=5),
        planned_date=oslo_date(now) + dt.timedelta(days=7),
    )
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        send_at=now - dt.timedelta(minutes=1),
        remind_at=now + dt.timedelta(days=5),
        expires_at=now + dt.timedelta(days=7),
    )
    # Booked for a consultation ahead (not one long past, which the worker would purge).
    Course.objects.filter(orders__in=orders).update(
        referral_date=oslo_date(now) - dt.timedelta(days=5),
        planned_consultation_date=oslo_date(now) + dt.timedelta(days=7),
    )
    return orders


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("several processes on one database need PostgreSQL")
    if shutil.which("gunicorn", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("gunicorn is not installed in this environment")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pgbouncer() -> str | None:
    return shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")


@pytest.fixture
def database_url() -> Iterator[tuple[str, dict[str, str]]]:
    """The URL the processes use, and extra environment: through PgBouncer in transaction mode
    when it is installed (as docs/operations.md advises at scale), else straight to PostgreSQL."""
    binary = _pgbouncer()
    direct = _test_database_url()
    if binary is None:
        yield direct, {"NNRR_DB_CONN_MAX_AGE": "0"}
        return
    db = connection.settings_dict
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="nnrr-pgbouncer-"))
    folder.chmod(0o777)  # PgBouncer refuses to run as root and drops to nobody
    users = folder / "users.txt"
    users.write_text(f'"{db.get("USER") or "postgres"}" "{db.get("PASSWORD") or ""}"\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={db.get('HOST') or '127.0.0.1'} port={db.get('PORT') or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "pool_mode = transaction\ndefault_pool_size = 8\n"
        f"auth_type = {'plain' if db.get('PASSWORD') else 'trust'}\nauth_file = {users}\n"
        f"logfile = {folder / 'pgbouncer.log'}\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
    )
    for path in (users, config):
        path.chmod(0o644)
    command = [binary, str(config)]
    if os.geteuid() == 0:
        command[1:1] = ["-u", "nobody"]
    bouncer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert bouncer.poll() is None, bouncer.stderr.read() if bouncer.stderr else ""
        assert time.monotonic() < deadline, "PgBouncer did not listen within 10 s"
        time.sleep(0.1)
    host_part, name = direct.rsplit("/", 1)
    pooled = host_part.rsplit(":", 1)[0] + f":{port}/{name}"
    try:
        yield pooled, {"NNRR_DB_POOLER": "transaction"}
    finally:
        bouncer.terminate()
        bouncer.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def deployment(tmp_path: Path, database_url: tuple[str, dict[str, str]]) -> Iterator[list[str]]:
    """Two gunicorn processes and two workers on the test database; their base URLs."""
    url, extra = database_url
    env = {
        **os.environ,
        **extra,
        "DATABASE_URL": url,
        "NNRR_OUTBOX_DIR": str(tmp_path / "outbox"),
        "NNRR_CHANNEL": "file",
        "NNRR_DEMO": "1",
        "NNRR_TESTING": "1",
        "NNRR_DEBUG": "0",
        "NNRR_LOG_LEVEL": "WARNING",
        "NNRR_WORKER_POLL_SECONDS": "1",
    }
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    ports = [_free_port(), _free_port()]
    processes = [
        subprocess.Popen(
            [
                gunicorn,
                "nnrr.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "4",
                "--log-level",
                "warning",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    processes += [
        subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 40
        for base in bases:
            while True:
                try:
                    if requests.get(f"{base}/logg-inn/", timeout=10).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "gunicorn did not answer within 40 s"
                time.sleep(0.2)
        yield bases
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                _out, err = process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                _out, err = process.communicate()
            if err:
                print(" ".join(map(str, process.args)), err.decode(errors="replace"))


def test_two_web_processes_and_two_workers_lose_and_repeat_nothing(
    deployment: list[str], tmp_path: Path
) -> None:
    plan = traffic.prepare(staff=STAFF, patients=PATIENTS, bookings_per_staff=BOOKINGS_EACH)
    due = _due_now(DUE)

    def clinic(staff: traffic.StaffPlan) -> traffic.Receipts:
        driver = traffic.RequestsDriver(deployment)
        host = "127.0.0.1"
        driver.session.cookies.set(settings.SESSION_COOKIE_NAME, staff.session_key, domain=host)
        receipts = traffic.Receipts()
        for index in range(BOOKINGS_EACH):
            traffic.clinic_round(driver, staff, index, receipts)
        return receipts

    def patient(one: traffic.PatientPlan) -> traffic.Receipts:
        receipts = traffic.Receipts()
        traffic.patient_visit(traffic.RequestsDriver(deployment), one, receipts)
        return receipts

    receipts = traffic.Receipts()
    with ThreadPoolExecutor(max_workers=STAFF + PATIENTS) as pool:
        futures = [pool.submit(clinic, s) for s in plan.staff]
        futures += [pool.submit(patient, p) for p in plan.patients]
        for future in futures:
            receipts.extend(future.result())

    assert receipts.errors == []
    assert len(receipts.bookings) == STAFF * BOOKINGS_EACH
    assert len(receipts.submissions) == PATIENTS
    checked = traffic.verify(plan, receipts)
    assert traffic.lost_and_duplicated(checked) == (0, 0), checked
    assert checked["bookings_stored"] == STAFF * BOOKINGS_EACH
    assert checked["submissions_stored"] == PATIENTS
    assert set(
        Order.objects.filter(pk__in=[p.order_id for p in plan.patients]).values_list(
            "state", flat=True
        )
    ) == {OrderState.ANSWERED}
    # The workers ran beside the web processes: every due questionnaire went out exactly once.
    deadline = time.monotonic() + 30
    sent = Message.objects.filter(order__in=due, state=MessageState.SENT)
    while sent.count() < DUE and time.monotonic() < deadline:
        time.sleep(0.5)
    states = Counter(Message.objects.filter(order__in=due).values_list("state", "outcome"))
    orders = Counter(Order.objects.filter(pk__in=[o.pk for o in due]).values_list("state"))
    assert sent.count() == DUE, (states, orders)
    assert Message.objects.filter(order__in=due).count() == DUE
    keys = set(Message.objects.filter(order__in=due).values_list("key", flat=True))
    assert keys <= {path.stem for path in (tmp_path / "outbox").glob("*.eml")}
