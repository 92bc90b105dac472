"""FHIR QuestionnaireResponse search benchmark: the same number of queries at every size.

    .venv/bin/python bench/fhir_search.py [--postgres | --sqlite] [--sizes 10000,100000,400000]

For each size (courses; a completed course has three or four forms, so 400,000 courses are about
a million forms) the database grows to that many synthetic courses (``bench/generate.py`` with
COPY on PostgreSQL, ``nnrr seed`` on SQLite), and the record system of the unit with the most
courses searches its QuestionnaireResponses through the real API with a real bearer token (the
test suite's token issuer, tests/api/token_provider.py, runs in this process):

- ``patient.identifier``: one patient's forms, by national id;
- ``subject``: the same by Patient id;
- ``authored``: the forms of the last 30 days, first page (50);
- ``page 3``: the third page (of 20) of all the unit's forms, following the Bundle's next links;
- ``questionnaire``: the 6-month forms, first page.

Printed per size and search: the number of SQL queries of the request, its median time over five
runs, and the entries returned. The target (exit status 1 when missed): the query count of each
search is the same at every size. Results also go to ``bench/results/fhir-search-<vendor>.json``.

The database is PostgreSQL when it answers (a database ``<NNRR_BENCH_DB_PREFIX or nnrr_bench>
_fhir``, dropped and created again), else SQLite in a temporary file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
RUNS = 5


def database_name() -> str:
    return f"{os.environ.get('NNRR_BENCH_DB_PREFIX', 'nnrr_bench')}_fhir"


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
        admin.execute(f"DROP DATABASE IF EXISTS {database_name()} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database_name()}")
    return f"{PG_SERVER}/{database_name()}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["NNRR_DEMO"] = "1"
    os.environ["NNRR_TESTING"] = "1"
    os.environ["NNRR_DEBUG"] = "0"
    os.environ["NNRR_DATA_DIR"] = str(DATA_DIR)
    os.environ.setdefault("NNRR_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def grow(to: int, have: int, now: dt.datetime) -> float:
    """Add courses until there are ``to``; the seconds it took."""
    from django.db import connection

    from nnrr.demo.bulk import seed

    started = time.perf_counter()
    if connection.vendor == "postgresql":
        if have:
            raise SystemExit("PostgreSQL sizes are generated from an empty database")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from generate import generate

        generate(courses=to, now=now, progress=to >= 100_000)
    else:
        seed(scale=to - have, now=now, out=io.StringIO(), answers=True, seed=1 + have)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return time.perf_counter() - started


def measure(size: int, provider: Any) -> dict[str, Any]:
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from nnrr import access
    from nnrr.api.models import ALL_SCOPES, MachineClient
    from nnrr.patients.models import Course
    from nnrr.questionnaires.models import Response

    unit_id = (
        Course.objects.values("unit_id").annotate(n=Count("id")).order_by("-n").first()["unit_id"]
    )
    client_id = f"bench-{unit_id}"
    MachineClient.objects.get_or_create(
        client_id=client_id,
        defaults={"name": "Bench", "unit_id": unit_id, "scopes": list(ALL_SCOPES)},
    )
    if client_id not in provider.clients:
        provider.register(client_id, set(ALL_SCOPES))
    client = Client(HTTP_AUTHORIZATION=f"Bearer {provider.token(client_id, ' '.join(ALL_SCOPES))}")
    visible = access.responses_for_machine_client(unit_id)
    sample: Response = visible.select_related("course__patient").order_by("-completed_at").first()
    forms = Response.objects.count()
    month_ago = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    searches = {
        "patient.identifier": f"?patient.identifier={sample.course.patient.national_id}",
        "subject": f"?subject=Patient/{sample.course.patient_id}",
        "authored": f"?authored=ge{month_ago}&_count=50",
        "page 3": "?_count=20",
        "questionnaire": "?questionnaire=https://nakkeryggreg.no/fhir/Questionnaire/nnrr-2"
        "&_count=50",
    }
    results: dict[str, Any] = {"courses": size, "forms": forms, "searches": {}}
    for name, query in searches.items():
        url = f"/fhir/QuestionnaireResponse{query}"
        if name == "page 3":
            for _page in range(2):
                links = {link["relation"]: link["url"] for link in client.get(url).json()["link"]}
                parts = urlsplit(links["next"])
                url = f"{parts.path}?{parts.query}"
        times, counts, entries = [], [], 0
        for _run in range(RUNS):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(url)
                times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:500]
            counts.append(len(queries))
            entries = len(response.json().get("entry", []))
        results["searches"][name] = {
            "queries": max(counts),
            "median_ms": round(1000 * statistics.median(times), 1),
            "entries": entries,
        }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    engine = parser.add_mutually_exclusive_group()
    engine.add_argument("--postgres", action="store_true")
    engine.add_argument("--sqlite", action="store_true")
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    use_pg = args.postgres or (not args.sqlite and postgres_answers())
    tmp = tempfile.TemporaryDirectory()
    now = dt.datetime.now(dt.UTC)
    sys.path.insert(0, str(ROOT))
    from tests.api.token_provider import start_token_provider

    provider_iter = start_token_provider()
    provider = next(provider_iter)
    try:
        return run(sizes, use_pg, tmp, now, provider)
    finally:
        provider_iter.close()
        tmp.cleanup()


def run(sizes: list[int], use_pg: bool, tmp: Any, now: dt.datetime, provider: Any) -> int:
    rows: list[dict[str, Any]] = []
    os.environ["NNRR_FHIR_TOKEN_ISSUER"] = provider.url
    os.environ["NNRR_FHIR_AUDIENCE"] = "nnrr:fhir"
    have = 0
    for size in sizes:
        if use_pg:
            if rows:
                from django.db import connections

                connections.close_all()
            url = fresh_postgres()
            if not rows:
                setup_django(url)
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
            have = 0
        elif have == 0:
            setup_django(f"sqlite:///{tmp.name}/bench.sqlite3")
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
        seconds = grow(size, have, now)
        have = size
        result = measure(size, provider)
        result["seed_seconds"] = round(seconds, 1)
        rows.append(result)
        print(f"{size:>9,} courses, {result['forms']:>9,} forms (data in {seconds:.0f} s)")
        for name, found in result["searches"].items():
            print(
                f"    {name:<20} {found['queries']:>3} queries  {found['median_ms']:>8.1f} ms"
                f"  {found['entries']:>3} entries"
            )
    from django.db import connection

    vendor = connection.vendor
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"fhir-search-{vendor}.json").write_text(json.dumps(rows, indent=2))
    counts = {
        name: {row["searches"][name]["queries"] for row in rows} for name in rows[0]["searches"]
    }
    varying = [name for name, seen in counts.items() if len(seen) > 1]
    if varying:
        print(f"FAIL: the query count changes with the size for {', '.join(varying)}")
        return 1
    print("OK: the same number of queries at every size")
    return 0


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        sys.exit(main())
