"""Faults survived: PostgreSQL restarted under load.

The test starts a PostgreSQL of its own in a temporary folder with Debian's server binaries
(never the shared server), migrates it, and runs the deployment of docs/operations.md against
it: two gunicorn processes serving a steady stream of staff requests and two workers
dispatching questionnaires that fall due second by second. Then PostgreSQL is restarted. The
web processes must answer again within seconds without being restarted (a kept connection is
health-checked before use), the workers must carry on, and every questionnaire must go out
exactly once. Slow (about a minute): ``-m "not slow"`` leaves it out.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg
import pytest
import requests
from django.conf import settings
from django.urls import reverse

# Slow, and a PostgreSQL test (its own server): in the PostgreSQL run of `make test`.
pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
PG_PORT = 8138
WEB_PORTS = (8131, 8132)
DUE = 40  # questionnaires falling due over SPREAD seconds, across the restart
SPREAD = 20
DOWN = 3.0  # seconds the database is away
RECOVERY_LIMIT = 10.0  # seconds from PostgreSQL accepting connections to the web answering


def _server_binaries() -> Path:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("Debian's PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are absent")
    return Path(found[-1]).parent


def _as_postgres_user() -> list[str]:
    """How to run initdb and pg_ctl, which refuse to run as root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user for initdb")
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--"]


@dataclass
class PrivatePostgres:
    bin: Path
    data: Path
    prefix: list[str]
    url: str
    log: Path
    options: str

    def ctl(self, *args: str) -> None:
        # The server's output goes to its log: a started server must not hold our pipes open.
        subprocess.run(
            [*self.prefix, str(self.bin / "pg_ctl"), "-D", str(self.data), *args],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def start(self) -> None:
        self.ctl("-o", self.options, "-l", str(self.log), "-w", "start")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            return list(conn.execute(sql, params).fetchall())


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    binaries, prefix = _server_binaries(), _as_postgres_user()
    folder = Path(tempfile.mkdtemp(prefix="nnrr-faults-"))
    if prefix:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    subprocess.run(
        [*prefix, str(binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    server = PrivatePostgres(
        binaries,
        data,
        prefix,
        f"postgres://postgres@127.0.0.1:{PG_PORT}/nnrr",
        folder / "log",
        f"-p {PG_PORT} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
    )
    server.start()
    try:
        with psycopg.connect(
            f"postgres://postgres@127.0.0.1:{PG_PORT}/postgres", autocommit=True
        ) as conn:
            conn.execute("CREATE DATABASE nnrr")
        yield server
    finally:
        try:
            server.ctl("-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


SEED = f"""
import datetime as dt, json
from django.utils import timezone
from nnrr.demo import traffic
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.scheduling.models import Order
from nnrr.lib.scopes import unscoped
from tests.scheduling.test_two_workers_postgres import _due_orders
set_up = unscoped("the test's set-up across units")  # held: entered for the whole script
set_up.__enter__()
plan = traffic.prepare(staff=1, patients=1, bookings_per_staff=1)
now = timezone.now()
# Booked ahead from the start: a past consultation would be purged by a running worker.
orders = _due_orders(
    {DUE},
    referral_date=oslo_date(now) - dt.timedelta(days=5),
    planned_date=oslo_date(now) + dt.timedelta(days=7),
)
for i, order in enumerate(orders):
    Order.objects.filter(pk=order.pk).update(
        send_at=now + dt.timedelta(seconds=5 + {SPREAD} * i / {DUE}),
        remind_at=now + dt.timedelta(days=5),
        expires_at=now + dt.timedelta(days=7),
    )
Course.objects.filter(orders__in=orders).update(
    referral_date=oslo_date(now) - dt.timedelta(days=5),
    planned_consultation_date=oslo_date(now) + dt.timedelta(days=7),
)
print(json.dumps({{"session": plan.staff[0].session_key, "orders": [str(o.pk) for o in orders]}}))
"""


@dataclass
class Load:
    """A steady stream of staff page requests to each web process, and bursts that use every
    thread of both (each thread keeps its own database connection)."""

    bases: list[str]
    session: str
    results: list[tuple[float, float, int | None]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def _get(self, http: requests.Session, base: str) -> None:
        started = time.monotonic()
        try:
            status: int | None = http.get(base + reverse("worklists:unit"), timeout=5).status_code
        except requests.RequestException:
            status = None
        self.results.append((started, time.monotonic(), status))

    def _client(self) -> requests.Session:
        http = requests.Session()
        http.cookies.set(settings.SESSION_COOKIE_NAME, self.session, domain="127.0.0.1")
        return http

    def run(self, base: str) -> None:
        http = self._client()
        while not self.stopping.is_set():
            self._get(http, base)
            time.sleep(0.05)

    def burst(self, per_process: int = 8) -> None:
        jobs = [base for base in self.bases for _ in range(per_process)]
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(lambda base: self._get(self._client(), base), jobs))


def _wait_for(check: object, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {seconds} s"
        time.sleep(0.2)


def test_web_and_workers_survive_a_postgres_restart_with_no_message_lost_or_repeated(
    private_postgres: PrivatePostgres, tmp_path: Path
) -> None:
    outbox = tmp_path / "outbox"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
        "DATABASE_URL": private_postgres.url,
        "NNRR_DATA_DIR": str(tmp_path / "data"),
        "NNRR_OUTBOX_DIR": str(outbox),
        "NNRR_CHANNEL": "file",
        "NNRR_DEMO": "1",
        "NNRR_TESTING": "1",
        "NNRR_LOG_LEVEL": "WARNING",
        "NNRR_WORKER_POLL_SECONDS": "1",
    }
    for args in (["migrate", "--noinput"], ["shell", "-c", SEED]):
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
    seeded = json.loads(done.stdout.strip().splitlines()[-1])
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    processes = [
        subprocess.Popen(
            [
                *(gunicorn, "nnrr.wsgi:application", "--bind", f"127.0.0.1:{port}"),
                *("--workers", "1", "--threads", "4", "--log-level", "warning"),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for port in WEB_PORTS
    ] + [
        subprocess.Popen(
            [sys.executable, "manage.py", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in WEB_PORTS]
    load = Load(bases, seeded["session"])
    threads = [threading.Thread(target=load.run, args=(base,)) for base in bases]
    try:
        _wait_for(lambda: all(_answers(base) for base in bases), 60, "gunicorn did not answer")
        for thread in threads:
            thread.start()
        # Steady load (at least 40 answered requests), the first questionnaires going out, and
        # every web thread with a database connection of its own.
        _wait_for(lambda: len(load.results) >= 40, 120, "the load did not get going")
        load.burst()
        time.sleep(2)
        restart_began = time.monotonic()
        private_postgres.ctl("-m", "fast", "-w", "stop")
        time.sleep(DOWN)  # long enough for the workers' passes to meet the outage
        private_postgres.start()
        database_back = time.monotonic()
        load.burst()  # threads whose connection died with the old server, used again
        time.sleep(15)  # the load goes on; the rest of the questionnaires fall due
        load.burst()
        load.stopping.set()
        for thread in threads:
            thread.join(timeout=10)

        def all_sent() -> bool:
            rows = private_postgres.query(
                "SELECT count(*) FROM scheduling_message WHERE state = 'sent'"
            )
            return rows[0][0] >= DUE

        _wait_for(all_sent, 90, "every due questionnaire was not sent")
        assert all(p.poll() is None for p in processes), "a web process or worker died"
    finally:
        load.stopping.set()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()

    before = [s for _start, end, s in load.results if end < restart_began]
    after = [(start, s) for start, _end, s in load.results if start >= database_back]
    failures = [(start, end) for start, end, s in load.results if s != 200]
    assert before and all(s == 200 for s in before), "the load ran cleanly before the restart"
    last_failure = max((end for _start, end in failures), default=restart_began)
    recovery = max(0.0, last_failure - database_back)
    assert recovery < RECOVERY_LIMIT, f"the web answered again {recovery:.1f} s after the restart"
    # A request begun once the database was back never fails on a connection that died with
    # the old server.
    late = [start - database_back for start, _end in failures if start >= database_back]
    assert late == [], f"requests begun {late} s after the database was back failed"
    assert len(after) > 50 and all(s == 200 for _start, s in after)
    print(
        f"\nrestart (down {DOWN} s) took {database_back - restart_began:.2f} s; web answering "
        f"{recovery:.2f} s after; {len(failures)} of {len(load.results)} requests failed"
    )

    due = (seeded["orders"],)
    per_order = private_postgres.query(
        "SELECT o.id, count(m.id), count(m.id) FILTER (WHERE m.state = 'sent') "
        "FROM scheduling_order o LEFT JOIN scheduling_message m ON m.order_id = o.id "
        "AND m.kind = 'invitation' WHERE o.id::text = ANY(%s) GROUP BY o.id",
        due,
    )
    assert len(per_order) == DUE
    lost = [row for row in per_order if row[2] == 0]
    repeated = [row for row in per_order if row[1] > 1]
    assert (len(lost), len(repeated)) == (0, 0), (lost, repeated)
    written = [path.stem for path in outbox.glob("*.eml")]
    assert len(written) == len(set(written)), "a message file was written twice"
    keys = {
        row[0]
        for row in private_postgres.query(
            "SELECT m.key FROM scheduling_message m WHERE m.state = 'sent' "
            "AND m.order_id::text = ANY(%s)",
            due,
        )
    }
    assert len(keys) == DUE
    assert keys <= set(written), "a message recorded as sent has no file"


def _answers(base: str) -> bool:
    try:
        return requests.get(f"{base}/logg-inn/", timeout=5).status_code == 200
    except requests.RequestException:
        return False
