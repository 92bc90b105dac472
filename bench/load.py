"""Load test of a real server: a busy Monday morning against gunicorn and the worker.

    .venv/bin/python bench/load.py [--courses 100000] [--staff 50] [--patients 200]
                                   [--duration 180] [--port 8765]

1. A fresh PostgreSQL database (``nnrr_bench_load``) is migrated and seeded with ``--courses``
   courses (``bench/generate.py``: the seed's rows written with COPY, answers left out).
2. ``nnrr.demo.traffic.prepare`` adds the simulated users: ``--staff`` Pasientansvarlige with a
   logged-in session each and patients to book, and ``--patients`` patients holding the one-time
   code of an open pre-treatment order.
3. ``bin/serve 127.0.0.1 <port>`` starts the server as in production on one machine: gunicorn
   (2 processes × 4 threads), the dispatch worker and the background-job worker.
4. locust, headless, on loopback, for ``--duration`` seconds: the clinic users book, view patient
   pages and worklists; the patients arrive spread over the run, enter with code and date of
   birth, consent, answer and "Send inn".
5. Afterwards, in the database: every booking that got a receipt has its course and one order,
   every submission that got a receipt is stored exactly once (``traffic.verify``).

Printed: the machine's cores and load, requests/s, p50/p95/p99 per page, errors, lost and
duplicated, beside the floor measured in the same run: the bare login page (no database work).
Exits with status 1 on any error, lost or duplicated item. Results also go to
``bench/results/load.json``.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_DATABASE = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench") + "_load"


def machine() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def environment(database_url: str, work: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "NNRR_DEMO": "1",
        "NNRR_DEBUG": "0",
        "NNRR_CHANNEL": "file",
        "NNRR_DATA_DIR": str(work),
        "NNRR_OUTBOX_DIR": str(work / "outbox"),
        "NNRR_LOG_LEVEL": "WARNING",
        "NNRR_WORKER_POLL_SECONDS": "2",
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
    }


def wait_for(url: str, seconds: float) -> None:
    import requests

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer at {url} within {seconds:.0f} s")


def floor(base: str, count: int = 200) -> float:
    """Median ms of the login page over HTTP: the server's own floor (no patient data)."""
    import statistics

    import requests

    times = []
    with requests.Session() as session:
        for _ in range(count):
            started = time.perf_counter()
            session.get(f"{base}/logg-inn/", timeout=10)
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def read_stats(prefix: Path) -> list[dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--duration", type=int, default=180, help="seconds of load")
    parser.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    args = parser.parse_args()
    if min(args.staff, args.patients, args.duration) < 1 or args.courses < 0:
        parser.error("--staff, --patients and --duration must be positive")
    if args.staff + args.patients > 1000 or args.duration > 1800:
        parser.error("bounded: at most 1000 users and 1800 seconds")

    print(f"Machine: {machine()}", flush=True)
    machine_before = machine()
    work = Path(tempfile.mkdtemp(prefix="nnrr-bench-load-"))
    database_url = fresh_postgres()
    env = environment(database_url, work)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from nnrr.demo import traffic

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate  # COPY: the seed's rows, fast

    generate(courses=args.courses, now=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"Seeded {args.courses:,} courses in {time.perf_counter() - started:.0f} s", flush=True)
    plan = traffic.prepare(staff=args.staff, patients=args.patients, bookings_per_staff=5)
    connection.close()
    plan_file, receipts_file = work / "plan.json", work / "receipts.json"
    plan_file.write_text(json.dumps(plan.as_json()))

    port = args.port
    if not port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(ROOT / "bin" / "serve"), "127.0.0.1", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    stats_prefix = work / "locust"
    try:
        wait_for(f"{base}/logg-inn/", 60)
        floor_ms = floor(base)
        print(f"Floor: login page {floor_ms:.1f} ms median over HTTP", flush=True)
        print(
            f"Load: {args.staff} clinic users, {args.patients} patients, {args.duration} s",
            flush=True,
        )
        locust = subprocess.run(
            [
                str(Path(sys.executable).parent / "locust"),
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--host",
                base,
                "--users",
                str(args.staff + args.patients),
                "--spawn-rate",
                "25",
                "--run-time",
                f"{args.duration}s",
                "--stop-timeout",
                "30",
                "--csv",
                str(stats_prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "NNRR_LOAD_PLAN": str(plan_file),
                "NNRR_LOAD_RECEIPTS": str(receipts_file),
                "NNRR_LOAD_STAFF": str(args.staff),
                "NNRR_LOAD_PATIENTS": str(args.patients),
                "NNRR_LOAD_SPREAD": str(max(1, args.duration * 2 // 3)),
            },
            capture_output=True,
            text=True,
            timeout=args.duration + 300,
        )
        # Let the worker finish what the load left due, then stop the server.
        time.sleep(3)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    if not receipts_file.exists():
        sys.stderr.write(locust.stdout[-3000:] + locust.stderr[-3000:])
        raise SystemExit("locust wrote no receipts")
    raw = json.loads(receipts_file.read_text())
    receipts = traffic.Receipts(raw["bookings"], raw["submissions"], raw["errors"])
    checked = traffic.verify(plan, receipts)
    lost, duplicated = traffic.lost_and_duplicated(checked)
    connection.close()

    if locust.returncode not in (0, 1):  # 1: some requests failed, reported below
        sys.stderr.write(locust.stderr[-3000:])
    rows = read_stats(stats_prefix)
    total = next(r for r in rows if r["Name"] == "Aggregated")
    pages = [r for r in rows if r["Name"] != "Aggregated"]
    failures = int(total["Failure Count"])
    print(f"\nLoad test: {args.courses:,} courses, {args.duration} s, {machine_before}")
    header = ["page", "requests", "failures", "p50 ms", "p95 ms", "p99 ms", "× floor p95"]
    table = [
        [
            r["Name"],
            r["Request Count"],
            r["Failure Count"],
            r["50%"],
            r["95%"],
            r["99%"],
            f"{float(r['95%']) / floor_ms:.0f}" if r["95%"] not in ("", "N/A") else "",
        ]
        for r in sorted(pages, key=lambda r: r["Name"])
    ]
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *table]:
        print(
            " | ".join(
                cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            )
        )
    rps = float(total["Requests/s"])
    print(
        f"\n{int(total['Request Count']):,} requests, {rps:.1f} requests/s, {failures} failed "
        f"(locust), {len(receipts.errors)} unexpected answers in the flows"
    )
    print(
        f"Bookings: {checked['bookings_receipted']} receipted, {checked['bookings_stored']} "
        f"stored; submissions: {checked['submissions_receipted']} receipted, "
        f"{checked['submissions_stored']} stored; lost {lost}, duplicated {duplicated}"
    )
    print(
        f"Stored without a receipt (the answer did not reach the user): "
        f"{checked['bookings_stored_without_receipt']} bookings, "
        f"{checked['submissions_stored_without_receipt']} submissions"
    )
    for error in receipts.errors[:10]:
        print(f"  error: {error}")
    if failures and not receipts.errors:
        print(locust.stderr[-2000:])
    print(f"Machine after: {machine()}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "load.json"
    result: dict[str, Any] = {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "machine_before": machine_before,
        "machine_after": machine(),
        "courses": args.courses,
        "staff": args.staff,
        "patients": args.patients,
        "duration_s": args.duration,
        "floor_login_ms": floor_ms,
        "requests_per_s": rps,
        "failures": failures,
        "flow_errors": receipts.errors,
        "check": checked,
        "lost": lost,
        "duplicated": duplicated,
        "pages": pages,
    }
    out.write_text(json.dumps(result, indent=2))
    print(f"Results: {out.relative_to(ROOT)}")
    problems = []
    if failures or receipts.errors:
        problems.append(f"{failures + len(receipts.errors)} error(s)")
    if lost or duplicated:
        problems.append(f"{lost} lost, {duplicated} duplicated")
    if not receipts.submissions or not receipts.bookings:
        problems.append("no booking or no submission got through")
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
