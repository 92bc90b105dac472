"""Fast synthetic registry data for the benchmarks: a million courses in minutes, with COPY.

    .venv/bin/python bench/generate.py --courses 1000000 [--database-url postgres://…]

The rows are those of ``nnrr seed`` (``nnrr.demo.bulk``: the same units and their sizes, the same
course trajectories, consent and answer shares, answers left out), but written to PostgreSQL
with ``COPY … FROM STDIN`` in large batches instead of INSERT statements, the tables' indexes
in place. Prints how long it took and the rows per second. ``bench/pages.py`` calls
:func:`generate` for its sizes on PostgreSQL.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
COPY_BATCH = 20_000  # courses per COPY round (one transaction)


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
    """Write ``courses`` synthetic courses (answers left out) with COPY; returns the seconds."""
    from django.db import connection, transaction

    from nnrr.accounts.models import Unit
    from nnrr.demo import bulk
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import ConsentLogEntry, Course, Patient
    from nnrr.questionnaires.definitions import get_definition
    from nnrr.questionnaires.models import FormKind, Response
    from nnrr.scheduling.models import Order

    if connection.vendor != "postgresql":
        raise SystemExit("bench/generate.py writes with COPY: PostgreSQL only")
    started = time.perf_counter()
    rng = random.Random(seed)
    today = oslo_date(now)
    units = list(Unit.objects.filter(pk__in=bulk.UNIT_WEIGHTS))
    weights = [bulk.UNIT_WEIGHTS[u.pk] for u in units]
    start = today - dt.timedelta(days=365 * bulk.YEARS_BACK)
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
    return time.perf_counter() - started


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
    sys.exit(main())
