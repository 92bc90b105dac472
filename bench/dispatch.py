"""Dispatch benchmark: 10,000 due questionnaires through the file channel, one worker then two.

    .venv/bin/python bench/dispatch.py [--postgres | --sqlite] [--orders 10000]

A fresh database gets 10,000 booked courses whose pre-treatment order is due (planned, send time
passed, reminder and deadline ahead). One worker process then runs passes of
``nnrr.scheduling.dispatch.run_pass`` (the worker's own pass: reconcile, expire, enqueue
invitations, deliver, purge) until nothing is due; the messages go to an outbox folder as .eml
files. Then a second set of 10,000 due orders, an empty outbox folder, and two worker processes
at once.

Each worker is a separate process started as ``bench/dispatch.py --worker`` with the environment
a deployed worker has (DATABASE_URL, NNRR_CHANNEL=file, NNRR_OUTBOX_DIR, NNRR_DEMO, NNRR_DATA_DIR).
It loops over passes the way ``manage.py worker`` does, with a fixed ``now`` like ``--now`` (one
``manage.py worker --now`` process per pass would measure Python start-up, not dispatch).

Printed per run: wall time (process start to exit) and the time inside the pass loop, orders/s
and messages/s, how the work split between the workers, and the duplicate checks: outbox rows per
order, .eml files against orders, repeated Message-IDs. Exits with status 1 on any duplicate or
missing message.

The floor, measured in the same run and folder: how many .eml-sized files per second one process
can write the way the file channel does (a temporary file, then a rename). Every message is one
such file, so no number of workers can beat it; on a virtual machine it can be the limit.

Targets (exit status 1 when missed): one worker ≥ 400 messages/s (10,000 due orders in under
25 s); two workers at least 1.3× one worker, or at least 85 % of the file floor when the floor
is what stops them; 0 duplicates and 0 lost in both runs.

The database is PostgreSQL when it answers at 127.0.0.1:5432 (a database ``nnrr_bench_dispatch``,
dropped and created again), else SQLite in a temporary file. ``--outbox-dir`` puts the outbox
folders elsewhere (e.g. /dev/shm, to see the workers without the disk). Results also go to
``bench/results/dispatch-<vendor>.json``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import email
import email.policy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Not the pages benchmark's nnrr_bench: the two scripts may then run at the same time.
# NNRR_BENCH_DB_PREFIX keeps several checkouts on one server apart (default nnrr_bench).
PG_DATABASE = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench") + "_dispatch"
BULK = 2000
TARGET_ONE_WORKER = 400.0  # messages/s
TARGET_SCALING = 1.3  # two workers against one
TARGET_OF_FLOOR = 0.85  # ... unless the file floor is what stops them


def base_environment(database_url: str, outbox: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "NNRR_DEMO": "1",
        "NNRR_DEBUG": "0",
        "NNRR_CHANNEL": "file",
        "NNRR_DATA_DIR": str(DATA_DIR),
        "NNRR_OUTBOX_DIR": str(outbox),
        "NNRR_LOG_LEVEL": os.environ.get("NNRR_LOG_LEVEL", "WARNING"),
        "DJANGO_SETTINGS_MODULE": "nnrr.settings",
    }


def setup_django(environment: dict[str, str]) -> None:
    os.environ.update(environment)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- The worker process ----------------------------------------------------------------------


def worker_main(now_text: str) -> int:
    """One worker: passes at a fixed ``now`` until nothing is due; a JSON summary on stdout."""
    started = time.perf_counter()
    setup_django({})  # the parent passed the whole environment
    from nnrr.scheduling import dispatch
    from nnrr.scheduling.channels import get_channel
    from nnrr.scheduling.models import Message, MessageState, Order, OrderState

    now = dt.datetime.fromisoformat(now_text)
    channel = get_channel("file")
    worker_id = dispatch.new_worker_id()
    totals: collections.Counter[str] = collections.Counter()
    passes = idle = 0
    loop_started = time.perf_counter()
    first_pass_at = time.time()
    try:
        while True:
            result = dispatch.run_pass(worker_id=worker_id, now=now, channel=channel)
            passes += 1
            for name in ("invitations", "reminders", "sent", "skipped", "failed", "reconciled"):
                totals[name] += getattr(result, name)
            if result.invitations or result.sent or result.skipped or result.failed:
                idle = 0
                continue
            due = (
                Order.objects.filter(
                    state=OrderState.PLANNED,
                    notify_self=False,
                    send_at__lte=now,
                    expires_at__gt=now,
                ).exists()
                or Message.objects.filter(
                    state__in=[MessageState.PENDING, MessageState.SENDING]
                ).exists()
            )
            if not due:
                break
            # The other worker holds the due rows (row locks, or SQLite's write lock); wait.
            idle += 1
            if idle > 2000:
                print("worker gives up: rows stay due but no pass makes progress", file=sys.stderr)
                return 2
            time.sleep(0.01)
    finally:
        dispatch.retire(worker_id)
    print(
        json.dumps(
            {
                "worker_id": worker_id,
                "passes": passes,
                "idle_passes": idle,
                "first_pass_at": first_pass_at,
                "last_pass_at": time.time(),
                "startup_s": loop_started - started,
                "loop_s": time.perf_counter() - loop_started,
                **totals,
            }
        )
    )
    return 0


def file_floor(directory: Path, count: int = 2000) -> float:
    """Files per second one process writes as the file channel does (temp file, rename)."""
    folder = directory / "floor"
    folder.mkdir(parents=True, exist_ok=True)
    payload = b"x" * 1100  # about the size of an invitation
    started = time.perf_counter()
    for n in range(count):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".eml")
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, folder / f"{n}.eml")
    rate = count / (time.perf_counter() - started)
    shutil.rmtree(folder, ignore_errors=True)
    return rate


def machine() -> str:
    """CPU count and load: figures from a busy machine are not comparable with a quiet one."""
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


# --- Database and data -----------------------------------------------------------------------


def postgres_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


def fresh_postgres() -> str:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")
    return f"{PG_SERVER}/{PG_DATABASE}"


def create_due_orders(count: int, now: dt.datetime, rng: random.Random, used: set[str]) -> set[Any]:
    """``count`` booked courses whose pre-treatment questionnaire is due at ``now``.

    Written in bulk, but every row is what booking would have made: a patient registered at the
    unit, a course, its Behandlerskjema in Kladd, and a planned order with a unique code hash,
    link token hash and salt. Returns the order ids.
    """
    from django.db import transaction

    from nnrr.accounts.models import Unit
    from nnrr.demo.people import random_person
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import Course, Patient
    from nnrr.questionnaires.models import FormKind, FormStatus, Response
    from nnrr.scheduling import codes, rules
    from nnrr.scheduling.models import Order, OrderState

    today = oslo_date(now)
    units = list(Unit.objects.filter(is_active=True))
    booked = now - dt.timedelta(days=3)
    planned = today + dt.timedelta(days=14)
    plan = rules.plan_pre_treatment(planned, booked)
    if not (plan.send_at <= now < plan.expires_at and (plan.remind_at or plan.expires_at) > now):
        raise RuntimeError(f"the plan {plan} is not due at {now}")
    order_ids: set[Any] = set()
    for start in range(0, count, BULK):
        patients, courses, responses, orders = [], [], [], []
        for n in range(start, min(count, start + BULK)):
            nid, name, birth, sex = random_person(rng, today)
            while nid in used:
                nid, name, birth, sex = random_person(rng, today)
            used.add(nid)
            unit = units[n % len(units)]
            patient = Patient(
                id=uuid.uuid4(),
                unit=unit,
                national_id=nid,
                id_kind=Patient.IdKind.SYNTHETIC,
                name=name,
                birth_date=birth,
                sex=sex,
                email=f"pasient-{nid}@example.no",
            )
            course = Course(
                id=uuid.uuid4(),
                patient=patient,
                unit=unit,
                referral_date=today - dt.timedelta(days=10),
                planned_consultation_date=planned,
            )
            code = codes.new_code()
            while codes.normalize_code(code) in used:
                code = codes.new_code()
            used.add(codes.normalize_code(code))
            order_id = uuid.uuid4()
            salt = codes.new_salt()
            patients.append(patient)
            courses.append(course)
            responses.append(
                Response(course=course, kind=FormKind.CLINICIAN, status=FormStatus.KLADD)
            )
            orders.append(
                Order(
                    id=order_id,
                    course=course,
                    kind=FormKind.PRE_TREATMENT,
                    state=OrderState.PLANNED,
                    send_at=plan.send_at,
                    remind_at=plan.remind_at,
                    expires_at=plan.expires_at,
                    code_hash=codes.code_hash(code),
                    token_salt=salt,
                    token_hash=codes.token_hash(codes.link_token(order_id, salt)),
                )
            )
            order_ids.add(order_id)
        with transaction.atomic():
            Patient.objects.bulk_create(patients)
            Course.objects.bulk_create(courses)
            Response.objects.bulk_create(responses)
            Order.objects.bulk_create(orders)
    return order_ids


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- One run ---------------------------------------------------------------------------------


def run_workers(
    workers: int, environment: dict[str, str], now: dt.datetime
) -> tuple[float, list[dict[str, Any]]]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", "--now", now.isoformat()]
    env = {**os.environ, **environment}
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    outputs = [process.communicate() for process in processes]
    wall = time.perf_counter() - started
    summaries = []
    for process, (out, err) in zip(processes, outputs, strict=True):
        if process.returncode != 0:
            sys.stderr.write(err.decode(errors="replace"))
            raise SystemExit(f"a worker failed with status {process.returncode}")
        summaries.append(json.loads(out.decode().strip().splitlines()[-1]))
    return wall, summaries


def check(order_ids: set[Any], outbox: Path) -> dict[str, Any]:
    """Outbox rows and files against the orders of this run: duplicates and gaps."""
    from django.db.models import Count

    from nnrr.scheduling.models import Message, MessageState, Order

    ids = list(order_ids)
    states: collections.Counter[str] = collections.Counter()
    message_states: collections.Counter[str] = collections.Counter()
    per_order: collections.Counter[Any] = collections.Counter()
    per_worker: collections.Counter[str] = collections.Counter()
    keys: set[str] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        states.update(
            {
                row["state"]: row["n"]
                for row in Order.objects.filter(pk__in=chunk)
                .values("state")
                .annotate(n=Count("pk"))
                .order_by()
            }
        )
        for order_id, state, key, claimed_by in Message.objects.filter(
            order_id__in=chunk
        ).values_list("order_id", "state", "key", "claimed_by"):
            per_order[order_id] += 1
            message_states[state] += 1
            keys.add(key)
            if state == MessageState.SENT:
                per_worker[claimed_by] += 1
    files = sorted(outbox.glob("*.eml"))
    message_ids: collections.Counter[str] = collections.Counter()
    for path in files:
        with path.open("rb") as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        message_ids[str(parsed["Message-ID"])] += 1
    file_keys = {path.stem for path in files}
    return {
        "orders": len(ids),
        "order_states": dict(states),
        "message_states": dict(message_states),
        "orders_with_several_messages": sum(1 for n in per_order.values() if n > 1),
        "orders_without_message": len(ids) - len(per_order),
        "eml_files": len(files),
        "eml_files_without_order": len(file_keys - keys),
        "orders_without_file": len(keys - file_keys),
        "repeated_message_ids": sum(n - 1 for n in message_ids.values() if n > 1),
        "leftover_temp_files": len(list(outbox.glob(".tmp-*"))),
        "sent_per_worker": sorted(per_worker.values(), reverse=True),
    }


def duplicates_of(checked: dict[str, Any]) -> int:
    return (
        checked["orders_with_several_messages"]
        + checked["repeated_message_ids"]
        + max(0, checked["eml_files"] - checked["orders"])
    )


def problems_of(checked: dict[str, Any]) -> list[str]:
    problems = []
    if duplicates_of(checked):
        problems.append(f"{duplicates_of(checked)} duplicate(s)")
    if checked["orders_without_message"] or checked["orders_without_file"]:
        problems.append(
            f"{checked['orders_without_message']} order(s) without an outbox row, "
            f"{checked['orders_without_file']} without a file"
        )
    if checked["eml_files_without_order"]:
        problems.append(f"{checked['eml_files_without_order']} file(s) not from this run's orders")
    return problems


def one_run(
    workers: int, count: int, database_url: str, work_dir: Path, used: set[str], seed: int
) -> dict[str, Any]:
    from django.utils import timezone

    from nnrr.lib.dates import OSLO

    outbox = work_dir / f"outbox-{workers}"
    shutil.rmtree(outbox, ignore_errors=True)
    outbox.mkdir(parents=True)
    now = timezone.now().astimezone(OSLO).replace(microsecond=0)
    made = time.perf_counter()
    order_ids = create_due_orders(count, now, random.Random(seed), used)
    analyze()
    made = time.perf_counter() - made
    print(f"\n== {workers} worker(s): {count:,} due orders created in {made:.1f} s", flush=True)
    wall, summaries = run_workers(workers, base_environment(database_url, outbox), now)
    checked = check(order_ids, outbox)
    sent = checked["message_states"].get("sent", 0)
    moved = checked["order_states"].get("sent", 0)
    loop = max(s["last_pass_at"] for s in summaries) - min(s["first_pass_at"] for s in summaries)
    result = {
        "workers": workers,
        "orders": count,
        "wall_s": wall,
        "loop_s": loop,
        "startup_s": [round(s["startup_s"], 2) for s in summaries],
        "orders_sent": moved,
        "messages_sent": sent,
        "orders_per_s": moved / wall,
        "messages_per_s": sent / wall,
        "messages_per_s_in_loop": sent / loop if loop else 0.0,
        "duplicates": duplicates_of(checked),
        "workers_detail": summaries,
        "check": checked,
    }
    print(
        f"   wall {wall:.1f} s (pass loop {loop:.1f} s, start-up "
        f"{', '.join(f'{s:.1f}' for s in result['startup_s'])} s); "
        f"{moved:,} orders sent, {sent:,} messages written",
        flush=True,
    )
    print(
        f"   {result['orders_per_s']:.0f} orders/s, {result['messages_per_s']:.0f} messages/s "
        f"({result['messages_per_s_in_loop']:.0f}/s inside the pass loop); "
        f"messages per worker {checked['sent_per_worker']}, passes "
        f"{[s['passes'] for s in summaries]}",
        flush=True,
    )
    print(
        f"   duplicates {result['duplicates']}: {checked['orders_with_several_messages']} orders "
        f"with >1 outbox row, {checked['eml_files']:,} .eml files for {count:,} orders, "
        f"{checked['repeated_message_ids']} repeated Message-IDs",
        flush=True,
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    where.add_argument("--sqlite", action="store_true", help="SQLite in a temporary file")
    parser.add_argument("--orders", type=int, default=10_000, help="due orders per run")
    parser.add_argument("--outbox-dir", type=Path, help="where the outbox folders go")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--now", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker_main(args.now)
    if args.orders < 1:
        parser.error("--orders must be at least 1")
    if args.postgres and not postgres_answers():
        sys.exit("PostgreSQL does not answer at 127.0.0.1:5432 (--postgres was given).")
    use_pg = args.postgres or (not args.sqlite and postgres_answers())

    if args.outbox_dir:
        args.outbox_dir.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="nnrr-bench-dispatch-", dir=args.outbox_dir))
    database_url = fresh_postgres() if use_pg else f"sqlite:///{work_dir / 'bench.sqlite3'}"
    setup_django(base_environment(database_url, work_dir / "outbox"))
    from django.core.management import call_command
    from django.db import connection

    vendor = connection.vendor
    print(f"Database: {vendor} ({PG_DATABASE if use_pg else work_dir / 'bench.sqlite3'})")
    print(f"Machine: {machine()}")
    machine_before = machine()
    call_command("migrate", verbosity=0, interactive=False)
    used: set[str] = set()
    runs = []
    floor = file_floor(work_dir)
    print(f"Floor: {floor:.0f} files/s written as the file channel does, in {work_dir}")
    try:
        for seed, workers in enumerate((1, 2), start=1):
            runs.append(one_run(workers, args.orders, database_url, work_dir, used, seed))
            connection.close()
    finally:
        connection.close()
        shutil.rmtree(work_dir, ignore_errors=True)

    print(f"\nDispatch on {vendor}, file channel, {args.orders:,} due orders per run")
    header = [
        "workers",
        "wall s",
        "orders/s",
        "messages/s",
        "msg/s in loop",
        "per worker",
        "duplicates",
    ]
    rows = [
        [
            str(run["workers"]),
            f"{run['wall_s']:.1f}",
            f"{run['orders_per_s']:.0f}",
            f"{run['messages_per_s']:.0f}",
            f"{run['messages_per_s_in_loop']:.0f}",
            "/".join(str(n) for n in run["check"]["sent_per_worker"]),
            str(run["duplicates"]),
        ]
        for run in runs
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(cell.rjust(widths[i]) for i, cell in enumerate(row)))

    one, two = runs[0]["messages_per_s"], runs[1]["messages_per_s"]
    targets = [
        (
            f"one worker ≥ {TARGET_ONE_WORKER:.0f} messages/s",
            one >= TARGET_ONE_WORKER,
            f"{one:.0f}",
        ),
        (
            f"two workers ≥ {TARGET_SCALING}× one ({TARGET_SCALING * one:.0f}/s) or ≥ "
            f"{TARGET_OF_FLOOR:.0%} of the file floor ({TARGET_OF_FLOOR * floor:.0f}/s)",
            two >= min(TARGET_SCALING * one, TARGET_OF_FLOOR * floor),
            f"{two:.0f} ({two / one:.2f}× one, {two / floor:.0%} of the floor)",
        ),
    ]
    print(f"\nFloor: {floor:.0f} files/s; one worker at {one / floor:.0%} of it")
    for label, met, got in targets:
        print(f"  {'met   ' if met else 'MISSED'} {label}: {got}")
    print(f"Machine after: {machine()}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"dispatch-{vendor}.json"
    out.write_text(
        json.dumps(
            {
                "vendor": vendor,
                "machine_before": machine_before,
                "machine_after": machine(),
                "cpus": os.cpu_count(),
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "file_floor_per_s": floor,
                "targets": [{"target": t, "met": m, "got": g} for t, m, g in targets],
                "runs": runs,
            },
            indent=2,
            default=str,
        )
    )
    print(f"Results: {out.relative_to(ROOT)}")
    problems = [
        f"{run['workers']} worker(s): {p}" for run in runs for p in problems_of(run["check"])
    ]
    problems += [f"missed: {label} (got {got})" for label, met, got in targets if not met]
    if problems:
        print("FAIL: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        sys.exit(main())
