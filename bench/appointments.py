"""Appointment feed benchmark: SIU messages through MLLP to a stored course.

    .venv/bin/python bench/appointments.py [--messages 2000] [--port 2578]

A fresh PostgreSQL database (``<prefix>_appointments``) is migrated; ``nnrr mllp`` is started as
its own process, the way ``bin/serve`` starts it, on ``--port``. One MLLP connection then sends

1. a day's volume for the whole country: 100 new appointments (SIU^S12 with a referral date),
   one after another, each waiting for its ACK, as a booking system does; the time until the
   last course is stored (course, Behandlerskjema, planned questionnaire, audit rows);
2. the ceiling: ``--messages`` new appointments the same way, timed to the last ACK (stored and
   acknowledged) and to the last course stored.

Then, with the listener stopped, in the benchmark's own process and one after the other (no
overlap): storing ``--messages`` more as the listener does in a burst (the units looked up
once), and applying them in one ``process_pending`` call; each timed, with the SQL statements
counted per message.

Printed: messages/s acknowledged and messages/s applied, the 100-message time against the target
(under a second), the separate storing and applying figures, and a check that every message made
exactly one course. Results also go to ``bench/results/appointments-postgresql.json``. Exit
status 1 when the target is missed or a course is missing or doubled.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench") + "_appointments"
DAY = 100
TARGET_DAY_SECONDS = 1.0
ST_OLAVS = 104293


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def machine() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    import socket

    for _attempt in range(200):
        if process.poll() is not None:
            sys.exit("nnrr mllp stopped at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nnrr mllp did not listen on {port}")


def messages(count: int, rng: random.Random, label: str) -> list[str]:
    from nnrr.appointments.siu import build_siu
    from nnrr.demo.people import synthetic_id

    now = dt.datetime.now(dt.UTC)
    used: set[str] = set()
    texts = []
    for n in range(count):
        nid = synthetic_id(rng, dt.date(rng.randint(1950, 2000), 1 + n % 12, 1 + n % 28), "F")
        while nid in used:
            nid = synthetic_id(rng, dt.date(1960, 1, 1 + n % 28), "M")
        used.add(nid)
        texts.append(
            build_siu(
                trigger="S12",
                unit=ST_OLAVS,
                message_id=f"{label}-{n}",
                sent_at=now,
                appointment_id=f"{label}-{n}",
                national_id=nid,
                start=now + dt.timedelta(days=20 + n % 40),
                referral_date=(now - dt.timedelta(days=10)).date(),
            )
        )
    return texts


def run(port: int, texts: list[str], label: str) -> dict[str, float]:
    from django.db import connection
    from hl7.client import MLLPClient

    from nnrr.appointments.models import InboundMessage, MessageState

    started = time.perf_counter()
    with MLLPClient("127.0.0.1", port) as client:
        for text in texts:
            reply = client.send_message(text)
            if b"MSA|AA|" not in reply:
                sys.exit(f"not accepted: {reply!r}")
    acknowledged = time.perf_counter() - started
    pending = InboundMessage.objects.filter(message_id__startswith=f"{label}-")
    while pending.exclude(state=MessageState.APPLIED).exists():
        if pending.filter(state__in=["failed", "waiting", "ignored"]).exists():
            sys.exit("a benchmark message was not applied")
        time.sleep(0.01)
    applied = time.perf_counter() - started
    connection.close()
    return {
        "messages": len(texts),
        "acknowledged_s": acknowledged,
        "applied_s": applied,
        "acknowledged_per_s": len(texts) / acknowledged,
        "applied_per_s": len(texts) / applied,
    }


def separately(texts: list[str]) -> dict[str, float]:
    """Store the messages as the listener does, then apply them, in this process: the time and
    the SQL statements of each step, per message."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from nnrr.appointments import mllp, services

    count = len(texts)
    with CaptureQueriesContext(connection) as stored:
        started = time.perf_counter()
        units = services.Units()  # the listener looks the units up once a second
        for text in texts:
            mllp.receive(text.encode(), now=timezone.now(), units=units)
        storing = time.perf_counter() - started
    with CaptureQueriesContext(connection) as applied:
        started = time.perf_counter()
        done = services.process_pending(worker_id="bench", now=timezone.now(), limit=count)
        applying = time.perf_counter() - started
    if done != count:
        sys.exit(f"{done} of {count} messages applied")
    return {
        "messages": count,
        "store_ms": storing / count * 1000,
        "store_statements": len(stored) / count,
        "apply_ms": applying / count * 1000,
        "apply_statements": len(applied) / count,
        "applied_per_s": count / applying,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--port", type=int, default=2578)
    args = parser.parse_args()
    database_url = fresh_postgres()
    environment = {
        "DATABASE_URL": database_url,
        "NNRR_DEMO": "1",
        "NNRR_DEBUG": "0",
        "NNRR_LOG_LEVEL": os.environ.get("NNRR_LOG_LEVEL", "WARNING"),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from nnrr.patients.models import Course

    print(f"Database: postgresql ({PG_DATABASE})\nMachine: {machine()}")
    call_command("migrate", verbosity=0, interactive=False)
    listener = subprocess.Popen(
        [sys.executable, "manage.py", "mllp", "--port", str(args.port), "--poll", "1"],
        cwd=ROOT,
        env={**os.environ, **environment},
    )
    try:
        wait_for_port(args.port, listener)
        rng = random.Random(24)
        day = run(args.port, messages(DAY, rng, "DAY"), "DAY")
        ceiling = run(args.port, messages(args.messages, rng, "MAX"), "MAX")
    finally:
        listener.terminate()
        listener.wait(30)
    from nnrr.questionnaires.definitions import all_definitions

    all_definitions()  # read once, as the listener does before it opens the port
    alone = separately(messages(args.messages, rng, "ONE"))
    courses = Course.objects.count()
    expected = DAY + 2 * args.messages
    print("\nSIU^S12 through MLLP to a stored course, PostgreSQL, one connection")
    for name, result in (("a day (100)", day), (f"ceiling ({args.messages})", ceiling)):
        print(
            f"{name:18} acknowledged {result['acknowledged_s']:.2f} s "
            f"({result['acknowledged_per_s']:.0f}/s), applied {result['applied_s']:.2f} s "
            f"({result['applied_per_s']:.0f}/s)"
        )
    print(
        f"one step at a time ({alone['messages']}): storing {alone['store_ms']:.1f} ms and "
        f"{alone['store_statements']:.1f} statements a message; applying "
        f"{alone['apply_ms']:.1f} ms and {alone['apply_statements']:.1f} statements a message "
        f"({alone['applied_per_s']:.0f}/s)"
    )
    print(f"courses stored: {courses} of {expected}\nMachine afterwards: {machine()}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "appointments-postgresql.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "day": day,
                "ceiling": ceiling,
                "separately": alone,
                "courses": courses,
            }
        )
    )
    problems = []
    if day["applied_s"] >= TARGET_DAY_SECONDS:
        problems.append(f"a day's 100 messages took {day['applied_s']:.2f} s (target < 1 s)")
    if courses != expected:
        problems.append(f"{courses} courses for {expected} messages")
    for problem in problems:
        print(f"MISSED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        sys.exit(main())
