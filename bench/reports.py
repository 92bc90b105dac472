"""Reports benchmark: the annual report's indicators against hand-written SQL, and the national
file's rows per second, on PostgreSQL at 100,000 (and optionally 1,000,000) courses.

    .venv/bin/python bench/reports.py [--sizes 100000,1000000] [--base 20000] [--repeat 5]

For each size a fresh PostgreSQL database ``nnrr_bench_reports`` is migrated and seeded with
``nnrr.demo.bulk.seed`` *with answers* (``--base`` courses, all 16 units, seven years); to reach
the size, the seeded courses and their forms are copied in SQL with new ids (the same units
and answers), which is much faster than generating every course. Each copy is moved further back
in time (``--history`` years, by default the seeded span), so a bigger database holds a longer
history, as the registry's will: the annual report of the latest three years counts the same
courses at every size, and its time should not grow with the history. Then, timed with the
median of ``--repeat`` runs after one warm-up run:

- **engine**: ``nnrr.reports.indicators.counted`` for every indicator of the annual report
  (three years, per unit and year): the ORM's aggregate queries over the stored answers;
- **hand SQL**: the same indicators as two hand-written SQL aggregates (process indicators by
  visit year, outcome indicators by follow-up year) with jsonb operators; the script checks that
  both give the same numerators and denominators and exits 1 if not;
- **report page**: ``nnrr.reports.content.indicator_report`` (engine + tables + the charts'
  descriptions), then **its charts drawn** (what the browser fetches after the page, each chart
  drawn the first time), and the page again with everything cached;
- **national file**: ``nnrr.reports.national_file.write`` for the same three years into
  /dev/null: rows and rows per second.

PostgreSQL only (the hand SQL uses jsonb); exits with a message when it does not answer. Results
also go to ``bench/results/reports-postgresql.json``. The machine is shared: the load average is
printed beside the figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# NNRR_BENCH_DB_PREFIX keeps several checkouts on one server apart (default nnrr_bench).
PG_DATABASE = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench") + "_reports"
# The calendar years nnrr.demo.bulk.seed spans (YEARS_BACK = 7 years back from today, and today).
SEEDED_YEARS = 8


def machine() -> str:
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


def postgres_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


def fresh_database() -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {PG_DATABASE}")


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{PG_SERVER}/{PG_DATABASE}"
    os.environ["NNRR_DEMO"] = "1"
    os.environ["NNRR_DEBUG"] = "0"
    os.environ["NNRR_CHANNEL"] = "none"
    os.environ["NNRR_DATA_DIR"] = str(DATA_DIR)
    os.environ.setdefault("NNRR_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Data ------------------------------------------------------------------------------------


def _columns(model: Any) -> list[str]:
    return [f.column for f in model._meta.concrete_fields]


def _moved(alias: str, fields: list[Any], shift: str) -> dict[str, str]:
    """Each date and time column of ``fields`` moved back by the SQL interval ``shift``, and the
    Besøksdato inside the answers."""
    from django.db import models

    moved: dict[str, str] = {}
    for field in fields:
        ref = f"{alias}.{field.column}"
        if isinstance(field, models.DateTimeField):
            moved[field.column] = f"{ref} - {shift}"
        elif isinstance(field, models.DateField):
            moved[field.column] = f"({ref} - {shift})::date"
        elif field.column == "answers":
            moved[field.column] = (
                f"CASE WHEN {ref}->>'S1b_DateOfCompletion' ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' "
                f"THEN jsonb_set({ref}, '{{S1b_DateOfCompletion}}', to_jsonb(("
                f"({ref}->>'S1b_DateOfCompletion')::date - {shift})::date::text)) "
                f"ELSE {ref} END"
            )
    return moved


def copy_courses(times: int, *, shift_years: int = 0, new_patients: bool = False) -> None:
    """Copy every course with its forms ``times`` more times, with new ids, in bulk: one
    ``INSERT … SELECT`` over ``generate_series(1, times)`` per table.

    With ``shift_years`` copy ``g`` is moved ``g × shift_years`` years back in time (every date
    and time of the course and its forms, the Besøksdato in the answers included), so a bigger
    database holds a longer history, as the registry's will: a report of the latest years finds
    the same courses at every size.

    With ``new_patients`` copy ``g`` of a course also gets its own patient (a copy of the patient
    with a new id and an unused national id ``8…``, the same birth date and sex) and, unless the
    copies move by years, its dates move ``(41 g) mod 365`` days back, so that the copies are
    other patients' courses spread over the year rather than the same patient's course repeated
    on the same day.
    """
    from django.db import connection

    from nnrr.patients.models import Course, Patient
    from nnrr.questionnaires.models import Response

    course_fields = [
        f
        for f in Course._meta.concrete_fields
        if f.column not in {"id", "replaces_id", "patient_id"}
    ]
    response_fields = [
        f for f in Response._meta.concrete_fields if f.column not in {"id", "course_id"}
    ]
    if shift_years:
        shift = f"make_interval(years => m.g * {int(shift_years)})"
    elif new_patients:
        shift = "make_interval(days => (m.g * 41) % 365)"
    else:
        shift = ""
    moved_course = _moved("c", course_fields, shift) if shift else {}
    moved_response = _moved("r", response_fields, shift) if shift else {}
    patient_cols = [c for c in _columns(Patient) if c not in {"id", "national_id"}]
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_map AS SELECT c.id AS old, c.patient_id, g, "
            "gen_random_uuid() AS new FROM patients_course c, generate_series(1, %s) g",
            [times],
        )
        if new_patients:
            cursor.execute("SELECT count(*) FROM patients_patient")
            (offset,) = cursor.fetchone()
            cursor.execute(
                "CREATE TEMP TABLE bench_patients AS SELECT p.id AS old, g, "
                "gen_random_uuid() AS new, "
                "'8' || lpad((%s + row_number() OVER ())::text, 10, '0') AS nid "
                "FROM patients_patient p, generate_series(1, %s) g",
                [offset, times],
            )
            cols = ", ".join(patient_cols)
            # Column names come from the models, never from input.
            cursor.execute(
                f"INSERT INTO patients_patient (id, national_id, {cols}) "  # noqa: S608
                f"SELECT n.new, n.nid, {', '.join('p.' + c for c in patient_cols)} "
                "FROM patients_patient p JOIN bench_patients n ON n.old = p.id"
            )
            cursor.execute(
                "UPDATE bench_map m SET patient_id = n.new FROM bench_patients n "
                "WHERE n.old = m.patient_id AND n.g = m.g"
            )
        cols = ", ".join(f.column for f in course_fields)
        values = ", ".join(moved_course.get(f.column, "c." + f.column) for f in course_fields)
        cursor.execute(
            f"INSERT INTO patients_course (id, patient_id, {cols}) "  # noqa: S608
            f"SELECT m.new, m.patient_id, {values} "
            "FROM patients_course c JOIN bench_map m ON m.old = c.id"
        )
        cols = ", ".join(f.column for f in response_fields)
        values = ", ".join(moved_response.get(f.column, "r." + f.column) for f in response_fields)
        cursor.execute(
            f"INSERT INTO questionnaires_response (id, course_id, {cols}) "  # noqa: S608
            f"SELECT gen_random_uuid(), m.new, {values} "
            "FROM questionnaires_response r JOIN bench_map m ON m.old = r.course_id"
        )
        cursor.execute("DROP TABLE bench_map")
        if new_patients:
            cursor.execute("DROP TABLE bench_patients")
        cursor.execute("VACUUM ANALYZE")


def seed_database(size: int, base: int, now: dt.datetime, shift_years: int) -> dict[str, float]:
    from django.core.management import call_command

    from nnrr.demo.bulk import seed
    from nnrr.demo.coverage import seed_coverage

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    base = min(base, size)
    seed(scale=base, now=now, out=io.StringIO(), answers=True)
    seeded = time.perf_counter() - started
    started = time.perf_counter()
    times = size // base - 1
    if times > 0:
        copy_courses(times, shift_years=shift_years)
    copied = time.perf_counter() - started
    seed_coverage(now=now)
    return {"seed_s": round(seeded, 1), "copy_s": round(copied, 1)}


# --- The hand-written SQL ----------------------------------------------------------------------

_BASE = """
FROM patients_course c
JOIN questionnaires_response b ON b.course_id = c.id AND b.kind = '1b' AND b.status = 2
JOIN questionnaires_response a ON a.course_id = c.id AND a.kind = '1a' AND a.status = 2
     AND a.consent
{join6}
WHERE c.status = 'active'
"""
_VISIT = "substr(b.answers ->> 'S1b_DateOfCompletion', 1, 4)::int"
# The Besøksdato as ISO text, exactly as the index response_visit_date holds it.
_VISIT_TEXT = "SUBSTRING((b.answers ->> 'S1b_DateOfCompletion'), 1, 10)"
_FOLLOW_UP = (
    f"({_VISIT} + CASE WHEN substr(b.answers ->> 'S1b_DateOfCompletion', 6, 2)::int >= 7 "
    "THEN 1 ELSE 0 END)"
)


def _num(alias: str, key: str, field: str = "answers") -> str:
    return f"({alias}.{field} ->> '{key}')::float"


def _tick(alias: str, key: str) -> str:
    return f"coalesce({alias}.answers -> '{key}' = 'true'::jsonb, false)"


_WAIT = f"(CAST({_VISIT_TEXT} AS date) - c.referral_date)"


def _relative(key: str, field: str = "answers") -> str:
    """(baseline − 6 m) ÷ baseline in double precision, NULL for a baseline of 0."""
    return (
        f"({_num('a', key, field)} - {_num('f', key, field)}) / NULLIF({_num('a', key, field)}, 0)"
    )


PROCESS_SQL = f"""
SELECT c.unit_id, {_VISIT} AS year,
  count(*) AS nnrr_tverrfaglig_behandling_d,
  count(*) FILTER (WHERE {_num("b", "Treatment_InvidualInterdisciplinary")} >= 1
                      OR {_num("b", "Treatment_GroupInterdisciplinary2018")} >= 1)
    AS nnrr_tverrfaglig_behandling_n,
  count(*) FILTER (WHERE {_num("b", "TreatmentMasteryOrientedConversation")} IN (1, 2))
    AS nnrr_mestringsorientert_samtale_d,
  count(*) FILTER (WHERE {_num("b", "TreatmentMasteryOrientedConversation")} = 1)
    AS nnrr_mestringsorientert_samtale_n,
  count(*) FILTER (WHERE {_WAIT} >= 0) AS nnrr_tid_henvisning_besok_50_d,
  count(*) FILTER (WHERE {_WAIT} >= 0 AND {_WAIT} <= 50) AS nnrr_tid_henvisning_besok_50_n
{_BASE.format(join6="")}
  AND {_VISIT} BETWEEN %s AND %s
  AND {_VISIT_TEXT} >= %s AND {_VISIT_TEXT} < %s
GROUP BY 1, 2
"""

_ODI = (
    f"{_num('a', 'OdiScore', 'scores')} IS NOT NULL "
    f"AND {_num('f', 'OdiScore', 'scores')} IS NOT NULL"
)
_JOB_D = f"{_num('a', 'IsEmployed')} = 1 AND {_tick('a', 'S2_SickLeave')}"
_JOB_N = (
    f"{_tick('f', 'S2_Working')} AND NOT {_tick('f', 'S2_SickLeave')} "
    f"AND NOT {_tick('f', 'S2_NAV')}"
)


def _pain_d(key: str) -> str:
    return (
        f"{_num('a', key)} IS NOT NULL AND {_num('f', key)} IS NOT NULL AND {_num('a', key)} <> 0"
    )


_JOIN6 = "JOIN questionnaires_response f ON f.course_id = c.id AND f.kind = '2' AND f.status = 2"
OUTCOME_SQL = f"""
SELECT c.unit_id, {_FOLLOW_UP} AS year,
  count(*) FILTER (WHERE {_ODI}) AS nnrr_bedret_funksjon_d,
  count(*) FILTER (WHERE {_ODI} AND {_relative("OdiScore", "scores")} >= 0.3)
    AS nnrr_bedret_funksjon_n,
  count(*) FILTER (WHERE {_ODI}) AS nnrr_funksjons_nedsettelse_d,
  count(*) FILTER (WHERE {_ODI} AND {_num("f", "OdiScore", "scores")} <= 23)
    AS nnrr_funksjons_nedsettelse_n,
  count(*) FILTER (WHERE {_pain_d("PainExperiencesNoActivity")}) AS nnrr_bedring_smerte_hvile_d,
  count(*) FILTER (WHERE {_pain_d("PainExperiencesNoActivity")}
                   AND {_relative("PainExperiencesNoActivity")} >= 0.3)
    AS nnrr_bedring_smerte_hvile_n,
  count(*) FILTER (WHERE {_pain_d("PainExperiencesActivity")}) AS nnrr_bedring_smerte_aktiv_d,
  count(*) FILTER (WHERE {_pain_d("PainExperiencesActivity")}
                   AND {_relative("PainExperiencesActivity")} >= 0.3)
    AS nnrr_bedring_smerte_aktiv_n,
  count(*) FILTER (WHERE {_JOB_D}) AS nnrr_jobb_ny_v1_d,
  count(*) FILTER (WHERE {_JOB_D} AND {_JOB_N}) AS nnrr_jobb_ny_v1_n,
  count(*) FILTER (WHERE {_JOB_D}) AS nnrr_jobb_ny_v2_d,
  count(*) FILTER (WHERE {_JOB_D} AND ({_JOB_N} OR (
      {_num("f", "S2_SickLeave_Percent")} < {_num("a", "S2_SickLeave_Percent")})))
    AS nnrr_jobb_ny_v2_n,
  count(*) FILTER (WHERE {_num("f", "UseOfTreatment")} BETWEEN 1 AND 7)
    AS nnrr_bedring_av_behandling_d,
  count(*) FILTER (WHERE {_num("f", "UseOfTreatment")} BETWEEN 1 AND 3)
    AS nnrr_bedring_av_behandling_n,
  count(*) FILTER (WHERE {_num("f", "TreatmentSatisfaction")} BETWEEN 1 AND 5)
    AS nnrr_misfornoeyd_d,
  count(*) FILTER (WHERE {_num("f", "TreatmentSatisfaction")} BETWEEN 1 AND 3)
    AS nnrr_misfornoeyd_n
{_BASE.format(join6=_JOIN6)}
  AND {_FOLLOW_UP} BETWEEN %s AND %s
  AND {_VISIT_TEXT} >= %s AND {_VISIT_TEXT} < %s
GROUP BY 1, 2
"""


def hand_sql(first: int, last: int) -> dict[str, dict[tuple[int, int], tuple[int, int]]]:
    from django.db import connection

    result: dict[str, dict[tuple[int, int], tuple[int, int]]] = {}
    with connection.cursor() as cursor:
        for sql, since, until in (
            (PROCESS_SQL, f"{first:04d}-01-01", f"{last + 1:04d}-01-01"),
            (OUTCOME_SQL, f"{first - 1:04d}-07-01", f"{last:04d}-07-01"),
        ):
            cursor.execute(sql, [first, last, since, until])
            names = [col.name for col in cursor.description]
            for row in cursor.fetchall():
                values = dict(zip(names, row, strict=True))
                key = (values["unit_id"], values["year"])
                for name in names:
                    if name.endswith("_d") and values[name]:
                        ind_id = name[:-2]
                        result.setdefault(ind_id, {})[key] = (values[ind_id + "_n"], values[name])
    return result


def engine(first: int, last: int) -> dict[str, dict[tuple[int, int], tuple[int, int]]]:
    from nnrr.reports import indicators as ind

    counted = ind.counted([i for i in ind.INDICATORS if i.id != "nnrr_dg"], first, last)
    return {
        ind_id: {key: (s.numerator, s.denominator) for key, s in counts.cells.items()}
        for ind_id, counts in counted.items()
    }


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = function()  # warm-up (and the result to check)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run_size(size: int, base: int, repeat: int, shift_years: int) -> dict[str, Any]:
    from django.db import connection

    from nnrr.accounts.models import Unit
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import Course
    from nnrr.reports import content, national_file
    from nnrr.reports.frame import courses

    now = dt.datetime.now(dt.UTC)
    fresh_database()
    print(f"\n{size:,} courses: seeding …", flush=True)
    seeding = seed_database(size, base, now, shift_years)
    total = Course.objects.count()
    in_analysis = courses().count()
    last = oslo_date(now).year - 1
    first = last - 2
    print(
        f"  {total:,} courses ({in_analysis:,} in the unit of analysis); "
        f"seed {seeding['seed_s']} s, copy {seeding['copy_s']} s; annual report {first}–{last}",
        flush=True,
    )
    engine_s, engine_result = timed(lambda: engine(first, last), repeat)
    hand_s, hand_result = timed(lambda: hand_sql(first, last), repeat)
    same = engine_result == hand_result
    unit = Unit.objects.get(pk=104293)
    choices = content.Choices("indikatorer", first, last, content.ALL_UNITS, unit, True)
    from django.core.cache import cache, caches

    from nnrr.reports import charts

    def cold_page() -> Any:
        cache.clear()  # no cached counts or charts: what the first viewer waits for
        caches["charts"].clear()
        return content.indicator_report(choices)

    page_s, built = timed(cold_page, max(1, repeat // 2))
    keys = [section.chart.key for section in built.sections if section.chart]

    def draw_charts() -> None:
        # What the browser then fetches: every chart of the page drawn for the first time.
        for key in keys:
            caches["charts"].delete(f"svg-{key}")
        for key in keys:
            charts.drawing(key)

    charts_s, _ = timed(draw_charts, max(1, repeat // 2))
    content.indicator_report(choices)
    warm_s, _ = timed(lambda: content.indicator_report(choices), max(1, repeat // 2))
    with open(os.devnull, "w", encoding="utf-8") as sink:
        started = time.perf_counter()
        rows = national_file.write(sink, first, last)
        file_s = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        db_size = cursor.fetchone()[0]
    return {
        "size": total,
        "in_analysis": in_analysis,
        "years": [first, last],
        "db_size": db_size,
        **seeding,
        "engine_ms": round(engine_s * 1000, 1),
        "hand_sql_ms": round(hand_s * 1000, 1),
        "ratio": round(engine_s / hand_s, 2),
        "same_result": same,
        "indicator_report_ms": round(page_s * 1000, 1),
        "charts": len(keys),
        "charts_ms": round(charts_s * 1000, 1),
        "indicator_report_cached_ms": round(warm_s * 1000, 1),
        "national_file_rows": rows,
        "national_file_s": round(file_s, 2),
        "national_file_rows_per_s": round(rows / file_s),
        "machine": machine(),
    }


def report(runs: list[dict[str, Any]]) -> None:
    print()
    print(
        "| courses | engine ms | hand SQL ms | × hand SQL | same result | indicator report ms "
        "| its charts drawn, ms | … cached | national file rows | rows/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        print(
            f"| {r['size']:,} | {r['engine_ms']} | {r['hand_sql_ms']} | {r['ratio']} | "
            f"{'yes' if r['same_result'] else 'NO'} | {r['indicator_report_ms']} | "
            f"{r['charts_ms']} ({r['charts']}) | {r['indicator_report_cached_ms']} | "
            f"{r['national_file_rows']:,} | {r['national_file_rows_per_s']:,} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000", help="course counts (default 100000)")
    parser.add_argument(
        "--base", type=int, default=20000, help="courses generated; the rest are copies"
    )
    parser.add_argument("--repeat", type=int, default=5, help="timed runs (median)")
    parser.add_argument(
        "--history",
        type=int,
        default=SEEDED_YEARS,
        help="years each copy moves back in time (default: the seeded span, so the copies form "
        "the registry's history; 0 stacks them on the same years)",
    )
    args = parser.parse_args()
    try:
        sizes = sorted({int(part) for part in args.sizes.split(",") if part.strip()})
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 100000,1000000")
    if not sizes or min(sizes) < 1 or args.base < 1 or args.repeat < 1 or args.history < 0:
        parser.error("--sizes, --base and --repeat must be positive")
    if not postgres_answers():
        sys.exit("PostgreSQL does not answer at 127.0.0.1:5432; this benchmark needs it.")
    setup_django()
    print(f"Database: postgresql ({PG_DATABASE})")
    machine_before = machine()
    print(f"Machine: {machine_before}")
    print(f"History: each copy {args.history} years further back")
    runs = [run_size(size, args.base, args.repeat, args.history) for size in sizes]
    report(runs)
    print(f"Machine after: {machine()}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "reports-postgresql.json").write_text(
        json.dumps(
            {
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "machine_before": machine_before,
                "runs": runs,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0 if all(r["same_result"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
