"""Export benchmark: rows per second and peak memory of each format, beside PostgreSQL's COPY.

    .venv/bin/python bench/export.py [--postgres | --sqlite] [--sizes 10000,100000,1000000]
                                     [--formats csv,xlsx,sav,dta] [--block 10000]

For each size (number of forms) a PostgreSQL database ``<prefix>_exports_<size>`` is prepared
(``NNRR_BENCH_DB_PREFIX``, default ``nnrr_bench``): the smallest is seeded with a block of
``--block`` forms by ``nnrr.demo.bulk.seed`` *with answers* (about 2.7 forms per course), and
every size is then reached by multiplying in SQL (``copy_courses`` of ``bench/reports.py``:
``INSERT … SELECT`` over ``generate_series`` with new ids, new patients and moved dates); a
larger size starts as a copy (``CREATE DATABASE … TEMPLATE``) of the next smaller one. 1,000,000
forms take minutes instead of the hour ``nnrr seed`` needs. ``--keep-database`` reuses the
databases of an earlier run. (SQLite: one temporary file, seeded with ``nnrr seed`` only.)
Then, as a Registeradministrator exporting every unit's
completed forms de-identified (the four form tables; the course table ``Forlop`` is measured once
more with CSV), each format runs in its own child process, so that its peak resident memory
(``VmHWM``) is its own; the child also prints its memory before the export began (Django and
the form definitions loaded).

The CSV export is compared with PostgreSQL writing the same rows and columns itself:
``COPY (SELECT …) TO STDOUT WITH CSV`` of each form table (linkage columns, every item as
``answers->>'id'``, every score, the same joins and the same consent and status conditions),
read by the client and thrown away. The pseudonym is an ``md5`` in SQL (PostgreSQL has no HMAC
without an extension); dates and decimals are PostgreSQL's own text. The export additionally
encrypts (AES-256) and compresses into the archive; COPY does neither.

Targets, printed as met or missed (exit 1 when one is missed): CSV at least 50 % of ``COPY``'s
rows per second at every size; each format's peak memory under 300 MB at every size, and flat
(at the largest size at most 1.5 times its peak at the smallest).

Results go to ``bench/results/export-<vendor>-<formats>.json`` as well.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# NNRR_BENCH_DB_PREFIX keeps several checkouts on one server apart (default nnrr_bench).
PG_PREFIX = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench") + "_exports"
FORMS_PER_COURSE_GUESS = 2.7
BENCH_USER = "bench-export-admin"


def machine() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs (shared), load average {one:.1f} (1 min), {five:.1f} (5 min)"


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc (Linux), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb() -> float:
    """Resident memory now."""
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process. (``ru_maxrss`` would not do: Linux carries it over
    from the parent across fork and exec.)"""
    return _status_mb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def postgres_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["NNRR_DEMO"] = "1"
    os.environ["NNRR_DEBUG"] = "0"
    os.environ["NNRR_DATA_DIR"] = str(DATA_DIR)
    os.environ["NNRR_EXPORT_DIR"] = str(DATA_DIR / "exports")
    os.environ.setdefault("NNRR_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Child: one export -------------------------------------------------------------------------


def bench_profile() -> Any:
    from nnrr.accounts.models import Membership, Role, User
    from nnrr.accounts.profiles import Profile

    user, _ = User.objects.get_or_create(username=BENCH_USER, defaults={"full_name": "Bench"})
    membership, _ = Membership.objects.get_or_create(
        user=user, unit_id=601032, role=Role.REGISTERADMINISTRATOR
    )
    return Profile.from_membership(membership)


def child(fmt: str, course_table: bool) -> dict[str, Any]:
    from django.utils import timezone

    from nnrr.exports.query import ExportFilters
    from nnrr.exports.services import ExportOptions, build_archive
    from nnrr.questionnaires.definitions import all_definitions

    all_definitions()
    profile = bench_profile()
    before = rss_mb()
    folder = Path(tempfile.mkdtemp(prefix="nnrr-bench-export-"))
    target = folder / "export.zip"
    started = time.perf_counter()
    result = build_archive(
        target=target,
        password="bench-password-bench-password",  # noqa: S106 (a benchmark archive)
        profile=profile,
        who="Bench",
        filters=ExportFilters(course_table=course_table),
        options=ExportOptions(format=fmt),
        purpose="benchmark",
        scratch=folder / "scratch",
        when=timezone.now(),
    )
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    with contextlib.suppress(OSError):
        (folder / "scratch").rmdir()
        folder.rmdir()
    return {
        "format": fmt + ("+Forlop" if course_table else ""),
        "rows": sum(result.row_counts.values()),
        "row_counts": result.row_counts,
        "seconds": seconds,
        "rows_per_s": sum(result.row_counts.values()) / seconds if seconds else 0,
        "rss_before_mb": before,
        "rss_peak_mb": peak_rss_mb(),
        "archive_mb": size / 1e6,
    }


def run_child(database_url: str, fmt: str, course_table: bool = False) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", fmt, "--database-url", database_url]
    if course_table:
        command.append("--course-table")
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"export child {fmt} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- COPY baseline -----------------------------------------------------------------------------


def copy_sql(kind: str) -> str:
    """The same rows and columns as the export's form table, produced by PostgreSQL itself."""
    from nnrr.exports.columns import SCORES_BY_FORM, item_columns

    items = [c.name for c in item_columns(kind) if not c.free_text]
    scores = SCORES_BY_FORM[kind]

    def answer(name: str) -> str:
        return f"r.answers->>'{name}'"

    columns = [
        "md5(p.national_id)",
        "r.id",
        "main.id",
        "c.unit_id",
        "u.name",
        "r.kind",
        "split_part(r.definition_version, '.', 1)",
        "split_part(r.definition_version, '.', 2)",
        "r.status",
        "r.form_date",
        "r.last_update",
        "date_part('year', age((main.answers->>'S1b_DateOfCompletion')::date, p.birth_date))",
        "CASE p.sex WHEN 'M' THEN 1 WHEN 'F' THEN 2 END",
        "main.answers->>'S1b_DateOfCompletion'",
    ]
    if kind != "1b":
        columns.append("coalesce(r.completed_at::date, r.form_date)")
    columns += [answer(name) for name in items]
    columns += [f"r.scores->>'{name}'" for name in scores]
    # Item ids come from our own form definitions, never from input.
    return (
        f"SELECT {', '.join(columns)} FROM questionnaires_response r "  # noqa: S608
        "JOIN patients_course c ON c.id = r.course_id "
        "JOIN patients_patient p ON p.id = c.patient_id "
        "JOIN accounts_unit u ON u.resh_id = c.unit_id "
        "LEFT JOIN questionnaires_response main ON main.course_id = c.id AND main.kind = '1b' "
        f"WHERE c.status = 'active' AND r.status = 2 AND r.kind = '{kind}' "
        "AND EXISTS (SELECT 1 FROM questionnaires_response k WHERE k.course_id = r.course_id "
        "AND k.kind = '1a' AND k.status = 2 AND k.consent) "
        "ORDER BY r.form_date, r.id"
    )


def copy_baseline(database_url: str) -> dict[str, Any]:
    import psycopg

    from nnrr.exports.columns import FORM_ORDER

    rows = 0
    started = time.perf_counter()
    with psycopg.connect(database_url) as conn, conn.cursor() as cursor:
        for kind in FORM_ORDER:
            with cursor.copy(f"COPY ({copy_sql(kind)}) TO STDOUT WITH CSV HEADER") as copy:
                for block in copy:
                    rows += bytes(block).count(b"\n")
            rows -= 1  # the header
    seconds = time.perf_counter() - started
    return {"format": "COPY", "rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


# --- Parent ------------------------------------------------------------------------------------


def pg_database(size: int) -> str:
    return f"{PG_PREFIX}_{size}"


def database_exists(name: str) -> bool:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        return (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def create_database(name: str, template: str | None = None) -> None:
    import psycopg

    # Names are built here from the prefix and a size, never from input.
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if template:
            admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        else:
            admin.execute(f"CREATE DATABASE {name}")


def use_database(database_url: str) -> None:
    """Point Django's connection at another database (one per size)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = database_url.rsplit("/", 1)[1]


def forms_in_database() -> int:
    from nnrr.questionnaires.models import Response

    return Response.objects.count()


def seed_block(block: int, now: dt.datetime, seed_no: int) -> None:
    """Seed courses the ordinary way (``nnrr seed`` with answers) up to ``block`` forms."""
    from nnrr.demo.bulk import seed

    while (have := forms_in_database()) < block:
        courses = max(100, int((block - have) / FORMS_PER_COURSE_GUESS) + 1)
        # A seed not used before for this database (its ids follow from the seed).
        seed(scale=courses, now=now, out=io.StringIO(), answers=True, seed=seed_no + have)
        seed_no += 1


def grow_to(size: int, block: int, now: dt.datetime) -> tuple[float, float]:
    """Seed a block, then multiply every course in SQL until at least ``size`` forms."""
    from django.db import connection

    sys.path.insert(0, str(ROOT / "bench"))
    from reports import copy_courses

    started = time.perf_counter()
    seed_block(min(block, size), now, seed_no=1000)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    have = forms_in_database()
    if have < size:
        copy_courses(-(-size // have) - 1, new_patients=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return seeded, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--formats", default="csv,xlsx,sav,dta")
    parser.add_argument("--block", type=int, default=10_000, help="forms seeded with nnrr seed")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="reuse the databases of an earlier run (seed only what is missing)",
    )
    parser.add_argument("--no-copy", action="store_true", help="skip the COPY yardstick")
    parser.add_argument("--no-course-table", action="store_true", help="skip csv+Forlop")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--course-table", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        setup_django(args.database_url)
        print(json.dumps(child(args.child, args.course_table)))
        return

    use_pg = args.postgres or (not args.sqlite and postgres_answers())
    if args.postgres and not use_pg:
        sys.exit("PostgreSQL does not answer at 127.0.0.1:5432 (--postgres was given).")
    sizes = sorted(int(s) for s in args.sizes.split(",") if s)
    formats = [f for f in args.formats.split(",") if f]
    if use_pg:
        database_url = f"{PG_SERVER}/{pg_database(sizes[0])}"
        if not (args.keep_database and database_exists(pg_database(sizes[0]))):
            create_database(pg_database(sizes[0]))
    else:
        folder = Path(tempfile.mkdtemp(prefix="nnrr-bench-export-"))
        database_url = f"sqlite:///{folder / 'bench.sqlite3'}"
    setup_django(database_url)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    print(f"Export benchmark on {connection.vendor}; {machine()}")
    results: list[dict[str, Any]] = []
    previous: str | None = None
    for size in sizes:
        if use_pg:
            name = pg_database(size)
            database_url = f"{PG_SERVER}/{name}"
            if previous and not (args.keep_database and database_exists(name)):
                connection.close()
                create_database(name, template=previous)
            use_database(database_url)
            previous = name
        call_command("migrate", verbosity=0, interactive=False)
        bench_profile()
        if use_pg:
            seeded, copied = grow_to(size, args.block, now)
        else:
            started = time.perf_counter()
            seed_block(size, now, seed_no=1000)
            seeded, copied = time.perf_counter() - started, 0.0
        total = forms_in_database()
        connection.close()
        print(
            f"\n{total} forms in the database (seeded in {seeded:.0f} s, multiplied in SQL in "
            f"{copied:.0f} s); {machine()}"
        )
        lines = []
        if use_pg and not args.no_copy:
            lines.append(copy_baseline(database_url))
        for fmt in formats:
            lines.append(run_child(database_url, fmt))
            print(f"  {fmt} done; {machine()}", flush=True)
        if "csv" in formats and not args.no_course_table:
            lines.append(run_child(database_url, "csv", course_table=True))
        copy_rate = next((r["rows_per_s"] for r in lines if r["format"] == "COPY"), None)
        print(
            f"{'format':<12} {'rows':>9} {'s':>8} {'rows/s':>9} {'vs COPY':>8} "
            f"{'RSS before':>11} {'RSS peak':>9}"
        )
        for line in lines:
            ratio = f"{100 * line['rows_per_s'] / copy_rate:.0f} %" if copy_rate else "–"
            before = f"{line['rss_before_mb']:.0f} MB" if "rss_before_mb" in line else ""
            peak = f"{line['rss_peak_mb']:.0f} MB" if "rss_peak_mb" in line else ""
            print(
                f"{line['format']:<12} {line['rows']:>9} {line['seconds']:>8.1f} "
                f"{line['rows_per_s']:>9.0f} {ratio:>8} {before:>11} {peak:>9}",
                flush=True,
            )
            results.append({"forms": total, "load": os.getloadavg()[:2], **line})
    missed = targets(results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"export-{connection.vendor}-{'-'.join(formats)}.json"
    out.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))
    print(f"\nResults written to {out.relative_to(ROOT)}")
    if missed:
        sys.exit(1)


def targets(results: list[dict[str, Any]]) -> list[str]:
    """Print each target as met or missed; returns the missed ones.

    CSV at least half of COPY's rows/s at every size; every format's peak memory under 300 MB
    at every size, and flat: at the largest size at most 1.5 times its peak at the smallest.
    """
    missed: list[str] = []

    def check(ok: bool, text: str) -> None:
        print(f"  {'met   ' if ok else 'MISSED'} {text}")
        if not ok:
            missed.append(text)

    print("\nTargets:")
    sizes = sorted({r["forms"] for r in results})
    for size in sizes:
        at = {r["format"]: r for r in results if r["forms"] == size}
        if "COPY" in at and "csv" in at:
            share = at["csv"]["rows_per_s"] / at["COPY"]["rows_per_s"]
            check(share >= 0.5, f"{size} forms: CSV at {100 * share:.0f} % of COPY (≥ 50 %)")
    for fmt in sorted({r["format"] for r in results if "rss_peak_mb" in r}):
        peaks = {r["forms"]: r["rss_peak_mb"] for r in results if r["format"] == fmt}
        top = max(peaks.values())
        check(top < 300, f"{fmt}: peak memory {top:.0f} MB at most (< 300 MB)")
        if len(peaks) > 1:
            low, high = peaks[min(peaks)], peaks[max(peaks)]
            check(
                high <= 1.5 * low,
                f"{fmt}: flat, {low:.0f} MB at {min(peaks)} forms, {high:.0f} MB at "
                f"{max(peaks)} (≤ 1.5×)",
            )
    return missed


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        main()
