"""Fast synthetic registry data for the benchmarks: a million courses in minutes.

    .venv/bin/python bench/generate.py --courses 1000000 [--database-url postgres://…]

A block of up to 50,000 courses over the last five years is built with the rows of ``nnrr seed``
(``nnrr.demo.bulk.add_course``: the same units and their sizes, course trajectories, consent and
answer shares, answers left out) and written with ``COPY … FROM STDIN``. Larger sizes repeat the
block's finished courses further back in time, five years per copy (a million courses span a
century, 10,000 a year, about the registry's volume), inside PostgreSQL with
``INSERT … SELECT``: new ids, a new patient with a new valid synthetic national id per course,
every date of the course, its forms, orders and consent log entries moved back together. The
copies are history, as the seed's own rules make everything older than a few months: courses
whose Behandlerskjema is still unfinished are not copied, and orders still open in the block are
expired in the copy. Every course gets its "nnrr.course.created" audit event. The tables' indexes
and triggers (the worklists' marker of unfinished courses) stay in place throughout. Prints how
long it took and the courses per second. ``bench/pages.py`` calls :func:`generate` for its sizes
on PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COPY_BATCH = 20_000  # courses per COPY round (one transaction)
BLOCK_COURSES = 50_000  # built in Python; larger sizes copy it back in time in SQL
BLOCK_YEARS = 5  # the block spans the last five years; each copy lies five years further back
EARLIEST_BIRTH = dt.date(1855, 1, 1)  # national ids cover births from 1854


def _copy(cursor: Any, model: Any, objects: list[Any], now: dt.datetime) -> None:
    """COPY model instances into their table: every concrete column the database does not fill
    itself (auto ids); values as an INSERT would store them (JSON wrapped, auto_now_add set)."""
    from django.db import connections
    from django.db.models import AutoField, BigAutoField, DateTimeField, JSONField
    from psycopg.types.json import Jsonb

    if not objects:
        return
    ops = connections["default"].ops
    fields = [
        f
        for f in model._meta.concrete_fields
        if not isinstance(f, AutoField | BigAutoField)
        or any(getattr(o, f.attname) for o in objects)
    ]
    getters: list[Any] = []
    for f in fields:
        if isinstance(f, JSONField):
            getters.append(lambda obj, name=f.attname: Jsonb(getattr(obj, name)))
        elif isinstance(f, DateTimeField) and (f.auto_now or f.auto_now_add):
            getters.append(lambda obj, name=f.attname: getattr(obj, name) or now)
        else:
            getters.append(lambda obj, name=f.attname: getattr(obj, name))
    columns = ", ".join(ops.quote_name(f.column) for f in fields)
    with cursor.copy(f"COPY {ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for obj in objects:
            copy.write_row([get(obj) for get in getters])


def generate(*, courses: int, now: dt.datetime, seed: int = 1, progress: bool = False) -> float:
    """Write ``courses`` synthetic courses (answers left out); returns the seconds it took."""
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("bench/generate.py writes with COPY: PostgreSQL only")
    started = time.perf_counter()
    rng = random.Random(seed)
    block = min(courses, BLOCK_COURSES)
    _write_block(block, rng, now, progress)
    if progress:
        print(f"  block of {block:,} courses in {time.perf_counter() - started:.0f} s", flush=True)
    copied = 0
    copy = 0
    with _bulk_load(enabled=courses > block, progress=progress):
        if courses > block:
            finished = _finished_courses()
            if not finished:
                raise SystemExit("the block has no finished course to copy; use a larger block")
            used = set(_national_ids())
            while copied < courses - block:
                copy += 1
                take = finished[: courses - block - copied]
                _write_copy(take, copy, rng, used, now)
                copied += len(take)
                if progress:
                    rate = (block + copied) / (time.perf_counter() - started)
                    print(
                        f"  {block + copied:,} courses ({copy} copies back to "
                        f"{BLOCK_YEARS * (copy + 1)} years ago, {rate:,.0f}/s)",
                        flush=True,
                    )
        _audit_events()
    _check_marker()
    return time.perf_counter() - started


# The tables the copies write; their secondary indexes are built again after the load.
LOADED_TABLES = (
    "patients_patient",
    "patients_course",
    "questionnaires_response",
    "scheduling_order",
    "patients_consentlogentry",
    "audit_auditevent",
)


@contextlib.contextmanager
def _bulk_load(*, enabled: bool, progress: bool) -> Iterator[None]:
    """A bulk load as PostgreSQL's documentation advises: the secondary indexes and unique
    constraints of the written tables dropped and built again afterwards (one sort instead of
    a random B-tree insert per row), and the per-row triggers (foreign key checks, the
    worklists' marker) off while copying (``session_replication_role = replica``). The copies
    are correct by construction (they join existing rows; only finished courses are copied, so
    the marker does not change), and :func:`_check_marker` verifies the marker afterwards."""
    from django.db import connection

    if not enabled:
        yield
        return
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
            "FROM pg_index i WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [list(LOADED_TABLES)],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
            "FROM pg_constraint c WHERE c.contype = 'u' AND c.conrelid::regclass::text = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint f "
            "WHERE f.contype = 'f' AND f.conindid = c.conindid)",
            [list(LOADED_TABLES)],
        )
        uniques = cursor.fetchall()
        # Names come from the catalogue, never from input.
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        for table, name, _definition in uniques:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cursor.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            rebuilt = time.perf_counter()
            for _name, definition in indexes:
                cursor.execute(definition)
            for table, name, definition in uniques:
                cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cursor.execute("RESET maintenance_work_mem")
        if progress:
            done = time.perf_counter()
            print(
                f"  {len(indexes)} indexes and {len(uniques)} unique constraints built again in "
                f"{done - rebuilt:.0f} s (the bulk load took {done - started:.0f} s)",
                flush=True,
            )


def _check_marker() -> None:
    """The worklists' markers hold exactly the unfinished courses and the open pre-treatment
    orders (as their triggers keep them; the copies ran with the triggers off)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM patients_course c WHERE c.status = 'active' AND EXISTS ("
            "SELECT 1 FROM questionnaires_response r WHERE r.course_id = c.id AND r.kind = '1b' "
            "AND r.status IN (1, 5))"
        )
        unfinished = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM worklists_unfinishedcourse")
        marked = cursor.fetchone()[0]
        if unfinished != marked:
            raise SystemExit(f"the worklist marker holds {marked} courses, {unfinished} unfinished")
        cursor.execute(
            "SELECT count(*) FROM scheduling_order "
            "WHERE kind = '1a' AND state IN ('planned', 'sent', 'reminded')"
        )
        waiting = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM worklists_waitingorder")
        marked = cursor.fetchone()[0]
        if waiting != marked:
            raise SystemExit(f"the waiting-order marker holds {marked} orders, {waiting} open")


def _write_block(courses: int, rng: random.Random, now: dt.datetime, progress: bool) -> None:
    """``courses`` courses over the last BLOCK_YEARS years, built in Python, written with COPY."""
    from django.db import connection, transaction

    from nnrr.accounts.models import Unit
    from nnrr.demo import bulk
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import ConsentLogEntry, Course, Patient
    from nnrr.questionnaires.definitions import get_definition
    from nnrr.questionnaires.models import FormKind, Response
    from nnrr.scheduling.models import Order

    started = time.perf_counter()
    today = oslo_date(now)
    units = list(Unit.objects.filter(pk__in=bulk.UNIT_WEIGHTS))
    weights = [bulk.UNIT_WEIGHTS[u.pk] for u in units]
    start = today - dt.timedelta(days=365 * BLOCK_YEARS)
    span = (today - start).days + 60
    definitions = {kind.value: get_definition(kind) for kind in FormKind}
    used_ids = set(Patient.objects.values_list("national_id", flat=True))
    rows = bulk.Rows.empty()

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as wrapper:
            cursor = wrapper.cursor  # the psycopg cursor, for COPY
            for model, objects in (
                (Patient, rows.patients),
                (Course, rows.courses),
                (Response, rows.responses),
                (Order, rows.orders),
                (ConsentLogEntry, rows.log),
            ):
                _copy(cursor, model, objects, now)
                objects.clear()

    for index in range(courses):
        bulk.add_course(
            rows, rng, units, weights, used_ids, start, span, today, now, definitions, False
        )
        if len(rows.courses) >= COPY_BATCH:
            flush()
            if progress:
                rate = (index + 1) / (time.perf_counter() - started)
                print(f"  {index + 1:,} courses ({rate:,.0f}/s)", flush=True)
    flush()


def _finished_courses() -> list[tuple[Any, ...]]:
    """The block's courses that are history already (Behandlerskjema finished, or purged):
    (course id, patient id, unit, name, birth date, sex), in id order (random)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id, p.id, p.unit_id, p.name, p.birth_date, p.sex "
            "FROM patients_course c JOIN patients_patient p ON p.id = c.patient_id "
            "WHERE NOT EXISTS "
            "(SELECT 1 FROM worklists_unfinishedcourse u WHERE u.course_id = c.id) "
            "ORDER BY c.id"
        )
        return list(cursor.fetchall())


def _national_ids() -> list[str]:
    from nnrr.patients.models import Patient

    return list(Patient.objects.values_list("national_id", flat=True))


def _copy_national_id(rng: random.Random, birth: dt.date, sex: str, used: set[str]) -> str:
    """A valid synthetic national id for ``birth`` and ``sex`` not in ``used`` (added to it)."""
    from nnrr.lib.national_id import make_national_id

    parity = 1 if sex == "M" else 0  # the ninth digit is odd for men
    for _attempt in range(10_000):
        number = make_national_id(birth, rng.randrange(parity, 1000, 2), synthetic=True)
        if number is not None and number not in used:
            used.add(number)
            return number
    raise RuntimeError(f"no free synthetic national id for {birth}")


def _shifted(model: Any, alias: str, overrides: dict[str, str]) -> tuple[str, str]:
    """(column list, select list) copying ``model``'s rows from ``alias`` with every date and
    time moved back by the interval parameter ``%(shift)s``; ``overrides`` replace columns."""
    from django.db.models import AutoField, BigAutoField, DateField, DateTimeField

    columns, values = [], []
    for field in model._meta.concrete_fields:
        if isinstance(field, AutoField | BigAutoField):
            continue
        column = field.column
        columns.append(column)
        if column in overrides:
            values.append(overrides[column])
        elif isinstance(field, DateTimeField):
            values.append(f"{alias}.{column} - %(shift)s::interval")
        elif isinstance(field, DateField):
            values.append(f"({alias}.{column} - %(shift)s::interval)::date")
        else:
            values.append(f"{alias}.{column}")
    return ", ".join(columns), ", ".join(values)


def _write_copy(
    finished: list[tuple[Any, ...]],
    copy: int,
    rng: random.Random,
    used: set[str],
    now: dt.datetime,
) -> None:
    """One copy of ``finished`` block courses, ``copy`` × BLOCK_YEARS years further back."""
    from django.db import connection, transaction

    from nnrr.patients.models import ConsentLogEntry, Course, Patient
    from nnrr.questionnaires.models import Response
    from nnrr.scheduling.models import OPEN_STATES, Order, OrderState

    years = BLOCK_YEARS * copy
    shift = {"shift": f"{years} years", "copy": copy}
    patients = []
    mapping = []
    for course_id, _patient_id, unit_id, name, birth, sex in finished:
        moved = _years_back(birth, years)
        if moved < EARLIEST_BIRTH:  # national ids begin in 1854: an older patient instead
            moved = EARLIEST_BIRTH + dt.timedelta(days=rng.randrange(3650))
        patient = Patient(
            id=_copy_id(rng, copy),
            unit_id=unit_id,
            national_id=_copy_national_id(rng, moved, sex, used),
            id_kind="synthetic",
            name=name,
            birth_date=moved,
            sex=sex,
            created_at=now - dt.timedelta(days=365 * years),
            updated_at=now - dt.timedelta(days=365 * years),
        )
        patients.append(patient)
        mapping.append((course_id, _copy_id(rng, copy), patient.id))
    open_states = ", ".join(f"'{state}'" for state in OPEN_STATES)
    is_open = f"o.state IN ({open_states})"
    course_columns, course_values = _shifted(
        Course, "c", {"id": "m.new", "patient_id": "m.patient", "replaces_id": "NULL"}
    )
    response_columns, response_values = _shifted(
        Response,
        "r",
        {
            "id": COPY_ID,
            "course_id": "m.new",
            # The one date the answers hold without clinical values (the visit).
            "answers": "CASE WHEN r.answers ? 'S1b_DateOfCompletion' THEN jsonb_set(r.answers, "
            "'{S1b_DateOfCompletion}', to_jsonb(((r.answers ->> 'S1b_DateOfCompletion')::date "
            "- %(shift)s::interval)::date::text)) ELSE r.answers END",
        },
    )
    unique_hash = "encode(sha256(convert_to(gen_random_uuid()::text, 'UTF8')), 'hex')"
    order_columns, order_values = _shifted(
        Order,
        "o",
        {
            "id": COPY_ID,
            "course_id": "m.new",
            "response_id": "NULL",
            "replaces_id": "NULL",
            "code_hash": unique_hash,
            "token_hash": unique_hash,
            "state": f"CASE WHEN {is_open} THEN '{OrderState.EXPIRED}' ELSE o.state END",
            "sent_at": f"CASE WHEN {is_open} THEN coalesce(o.sent_at, o.send_at) "
            "ELSE o.sent_at END - %(shift)s::interval",
            "closed_at": f"CASE WHEN {is_open} THEN o.expires_at ELSE o.closed_at END "
            "- %(shift)s::interval",
        },
    )
    log_columns, log_values = _shifted(
        ConsentLogEntry,
        "e",
        {"course_id": "m.new", "national_id": "p.national_id", "name": "p.name"},
    )
    # Column lists and expressions come from the models and constants, never from input.
    statements = [
        f"INSERT INTO patients_course ({course_columns}) SELECT {course_values} "  # noqa: S608
        "FROM patients_course c JOIN bench_map m ON m.old = c.id",
        f"INSERT INTO questionnaires_response ({response_columns}) "  # noqa: S608
        f"SELECT {response_values} "
        "FROM questionnaires_response r JOIN bench_map m ON m.old = r.course_id",
        f"INSERT INTO scheduling_order ({order_columns}) SELECT {order_values} "  # noqa: S608
        "FROM scheduling_order o JOIN bench_map m ON m.old = o.course_id",
        f"INSERT INTO patients_consentlogentry ({log_columns}) "  # noqa: S608
        f"SELECT {log_values} FROM patients_consentlogentry e "
        "JOIN bench_map m ON m.old = e.course_id JOIN patients_patient p ON p.id = m.patient",
    ]
    with transaction.atomic(), connection.cursor() as wrapper:
        cursor = wrapper.cursor
        _copy(cursor, Patient, patients, now)
        cursor.execute(
            "CREATE TEMP TABLE bench_map (old uuid PRIMARY KEY, new uuid, patient uuid) "
            "ON COMMIT DROP"
        )
        with cursor.copy("COPY bench_map (old, new, patient) FROM STDIN") as copying:
            for row in mapping:
                copying.write_row(row)
        cursor.execute("ANALYZE bench_map")
        for statement in statements:
            cursor.execute(statement, shift)


# A new id in the copy's own key range: the copy number in the first 32 bits, random after.
# Each copy's rows then go into their own part of the primary key indexes, which stays in
# memory while the copy is written, instead of a random leaf of an index of millions of rows
# per row (most of the copies' time at a million before). Ids stay unique and unordered
# within the copy.
COPY_ID = (
    "overlay(gen_random_uuid()::text placing lpad(to_hex(%(copy)s::int), 8, '0') from 1)::uuid"
)


def _copy_id(rng: random.Random, copy: int) -> uuid.UUID:
    return uuid.UUID(int=(copy << 96) | rng.getrandbits(96))


def _years_back(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _audit_events() -> None:
    """Every course's "nnrr.course.created" event, as booking writes it, on its referral day:
    at a moment of the working day (08:00 to about 17:00) drawn from the course's id, as a
    clinic books through the day. (All at 10:00, a unit's day of bookings shared one instant,
    and the Logg's newest page sorted hundreds of events with the same time.)"""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (at, actor_name, role, unit_id, action, outcome, "
            "patient_id, object_type, object_id, detail) "
            "SELECT (c.referral_date + time '08:00' + (hashtext(c.id::text) & 32767) "
            "* interval '1 second') AT TIME ZONE 'Europe/Oslo', "
            "'Synthetic booking', 'pasientansvarlig', c.unit_id, 'nnrr.course.created', 'ok', "
            "c.patient_id, 'patients.course', c.id::text, jsonb_build_object("
            "'referral_date', c.referral_date::text, "
            "'planned_date', c.planned_consultation_date::text) "
            "FROM patients_course c"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--courses", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgres"):
        parser.error("--database-url (or DATABASE_URL) must name a PostgreSQL database")
    if args.courses < 1:
        parser.error("--courses must be at least 1")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("NNRR_DEMO", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    one, five, _ = os.getloadavg()
    print(f"Machine: {os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)")
    seconds = generate(courses=args.courses, now=timezone.now(), progress=True)
    print(f"{args.courses:,} courses in {seconds:.0f} s ({args.courses / seconds:,.0f} courses/s)")
    return 0


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        sys.exit(main())
