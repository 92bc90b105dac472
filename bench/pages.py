"""Page benchmark: query counts and server time of the busiest pages at several data sizes.

    .venv/bin/python bench/pages.py [--postgres | --sqlite] [--sizes 1000,100000,1000000]
                                    [--repeat 50] [--keep]

For each size a database is migrated and seeded (on PostgreSQL by ``bench/generate.py``: a block
of ``nnrr.demo.bulk`` courses, copied back in time for the larger sizes; on SQLite by
``nnrr.demo.bulk.seed``; no answers; then at every size a full page of rows in each worklist
and the Logg, booked and deleted through the services), then, in-process through
``django.test.Client``, a Pasientansvarlig at St. Olavs (the biggest unit) requests:

- the front page ``/`` (worklist counts, the red dot),
- the patient search, a POST of the number to ``/pasient/sok/`` (a redirect; only that request
  is counted),
- the patient page ``/pasient/<id>/`` of a patient with three courses,
- the four worklists (page 1 of each),
- a bare view doing one indexed lookup (``Patient`` by national id) on the same database: the
  floor every page is compared with; once without a session (one query) and once logged in;

and the unit's Lokal registeransvarlig (who may use them) requests the audit log ``/logg/``, the
export page ``/eksport/``, the reports ``/rapporter/`` and the report documents
``/rapporter/pdf/``.

"Server time" is the time ``client.get`` takes: middleware, view, template, database. The test
client keeps the database connection between requests (a real server with SQLite reconnects per
request), and there is no network or WSGI server in it. Query counts come from the first request
after warm-up; times are the median and 90th percentile of the following ``--repeat`` requests.

The database is PostgreSQL when it answers at 127.0.0.1:5432 (one database per size,
``<prefix>_<size>``, prefix ``NNRR_BENCH_DB_PREFIX`` or ``nnrr_bench``; made afresh and dropped
after the size's run, or with ``--keep`` kept and reused as it is by the next ``--keep`` run, so
the million is generated once), else SQLite in a temporary file. The developer's demo data is
never touched. Results also go to ``bench/results/pages-<vendor>.json``.

Targets, checked in the same run (exit status 1 when one is missed): a page's query count is the
same at every size; at the largest size every page is within 1.5× of its own time at the
smallest size and within 4× of the logged-in bare view (the floor: session, user and profile
reads that every page pays, the profile read with the red dot of the header; it writes nothing,
where an audited page also writes its audit event). The machine's core count and load average
are printed with every size: on a shared machine the ratios to the same run's bare view are the
figures to compare.
"""

from __future__ import annotations

import argparse
import contextlib
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

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "var" / "bench"
RESULTS_DIR = ROOT / "bench" / "results"
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# NNRR_BENCH_DB_PREFIX keeps several checkouts on one server apart (default nnrr_bench).
PG_DATABASE = os.environ.get("NNRR_BENCH_DB_PREFIX", "nnrr_bench")
ST_OLAVS = 104293
PAGE = 50  # rows on a page of the worklists and the Logg
COLLEAGUES = 10  # users per unit who own its courses; the bench user is one at St. Olavs
BARE_PATH = "/bench/bare/"
TARGET_GROWTH = 1.5  # largest size against the smallest, per page
# Against the logged-in bare view at the largest size. 4×, not 3×: pages render their rows
# through templates and read through querysets (docs/decisions/0019); readable code wins over
# the millisecond or two that hand-built HTML and SQL saved.
TARGET_FLOOR = 4.0

# The URLconf of the benchmark: the project's URLs plus the bare view. Filled in by main()
# (including the project's URLs needs Django set up); ROOT_URLCONF points at this module.
urlpatterns: list[Any] = []


def bare_view(request: Any) -> Any:
    """The floor: one indexed lookup and a plain response, nothing else."""
    from django.http import HttpResponse

    from nnrr.lib.scopes import unscoped
    from nnrr.patients.models import Patient

    with unscoped("benchmark floor: one indexed look-up"):
        pk = Patient.objects.filter(national_id=request.GET["nid"]).values_list("pk", flat=True)
        pk = pk.first()
    return HttpResponse(str(pk), content_type="text/plain")


def machine() -> str:
    """CPU count and load: figures from a busy machine are not comparable with a quiet one."""
    one, five, _fifteen = os.getloadavg()
    return f"{os.cpu_count()} CPUs, load average {one:.1f} (1 min), {five:.1f} (5 min)"


# --- Database selection ----------------------------------------------------------------------


def postgres_answers() -> bool:
    try:
        import psycopg

        psycopg.connect(f"{PG_SERVER}/postgres", connect_timeout=3).close()
    except Exception:
        return False
    return True


def choose_database(args: argparse.Namespace) -> tuple[str, Path | None]:
    """(DATABASE_URL, SQLite file or None). Exits when --postgres is asked for but absent."""
    use_pg = args.postgres or (not args.sqlite and postgres_answers())
    if args.postgres and not postgres_answers():
        sys.exit("PostgreSQL does not answer at 127.0.0.1:5432 (--postgres was given).")
    if use_pg:
        return f"{PG_SERVER}/{PG_DATABASE}", None
    folder = Path(tempfile.mkdtemp(prefix="nnrr-bench-pages-"))
    return f"sqlite:///{folder / 'bench.sqlite3'}", folder / "bench.sqlite3"


def database_name(size: int) -> str:
    """One PostgreSQL database per size (``<prefix>_<size>``), so ``--keep`` can reuse each."""
    return f"{PG_DATABASE}_{size}"


def use_database(size: int, sqlite_file: Path | None, keep: bool) -> bool:
    """Point Django at the database of ``size``; True when a kept one is reused as it is
    (``--keep`` and it was seeded and prepared completely before), else it is emptied first."""
    from django.db import connection, connections

    connections.close_all()
    if sqlite_file is not None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{sqlite_file}{suffix}").unlink()
        return False
    import psycopg

    name = database_name(size)
    connection.settings_dict["NAME"] = name
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if keep and exists:
            with psycopg.connect(f"{PG_SERVER}/{name}") as kept:
                ready = kept.execute("SELECT to_regclass('bench_fixture_v3')").fetchone()
            # The table's name carries the fixture's version: a database kept with an older
            # fixture is made afresh.
            if ready and ready[0]:
                return True
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return False


def drop_database(size: int) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database_name(size)} WITH (FORCE)")


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["NNRR_DEMO"] = "1"
    os.environ["NNRR_DEBUG"] = "0"
    os.environ["NNRR_CHANNEL"] = "file"
    os.environ["NNRR_DATA_DIR"] = str(DATA_DIR)
    os.environ["NNRR_OUTBOX_DIR"] = str(DATA_DIR / "outbox-pages")
    os.environ.setdefault("NNRR_LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nnrr.settings")
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.urls import include, path

    urlpatterns[:] = [path(BARE_PATH.strip("/") + "/", bare_view), path("", include("nnrr.urls"))]


# --- Data ------------------------------------------------------------------------------------


def seed_database(size: int, now: dt.datetime) -> float:
    """The synthetic courses: with COPY on PostgreSQL (bench/generate.py), else ``nnrr seed``."""
    from django.core.management import call_command
    from django.db import connection

    from nnrr.demo.bulk import seed

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    if connection.vendor == "postgresql":
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from generate import generate

        return generate(courses=size, now=now, progress=size >= 100_000)
    seed(scale=size, now=now, out=io.StringIO(), answers=False)
    return time.perf_counter() - started


def analyze() -> None:
    """Statistics and visibility maps, as autovacuum would have them after a bulk load."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def fill_pages(actor: Any, unit: Any, shown: Any, now: dt.datetime) -> None:
    """A full page in every list at every size, made the way the clinic makes them: a page of
    the bench user's courses booked ahead (waiting for their pre-treatment form: "Mine",
    "Avdelingens", "Pasienter uten informasjon om samtykke"), a page of courses past their
    planned date ("Utgått"), and a page of courses deleted before consent (the statutory log
    under the consent list); the Logg has all their events. Without them the smallest size
    showed 11 rows where the larger ones showed 50, and a page's time "against its own at the
    smallest size" compared rows, not data."""
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import Patient
    from nnrr.scheduling import services as scheduling

    today = oslo_date(now)
    patients = list(
        Patient.objects.filter(unit=unit).exclude(pk=shown.pk).order_by("national_id")[:PAGE]
    )
    if not patients:
        sys.exit("The seeded data has no other patient at St. Olavs; use a larger --sizes.")

    def book(n: int, planned_in: int) -> Any:
        return scheduling.book_course(
            actor=actor,
            patient=patients[n % len(patients)],
            unit=unit,
            referral_date=today - dt.timedelta(days=max(0, -planned_in) + 10),
            planned_date=today + dt.timedelta(days=planned_in),
            now=now,
        )

    for n in range(PAGE + 1):
        book(n, 20 + n % 30)
        book(n, -2 - n % 30)
        scheduling.delete_course(
            actor=actor, course=book(n, 40), reason="Pasienten møtte ikke", now=now
        )


def prepare(now: dt.datetime, seed_seconds: float) -> dict[str, Any]:
    """Users at every unit owning its courses, the bench user among St. Olavs' ones, and a
    patient with three courses there."""
    from django.db import connection, transaction
    from django.db.models import Count

    from nnrr.accounts.models import Membership, Role, Unit, User
    from nnrr.audit.context import Actor
    from nnrr.lib.dates import oslo_date
    from nnrr.patients.models import Course
    from nnrr.scheduling import services as scheduling

    # Every course is owned by whoever booked it (the seed leaves owners empty): share each
    # unit's courses among a few colleagues, so "mine" and the red dot see realistic numbers.
    staff: dict[int, list[tuple[Any, Any]]] = {}
    for each in Unit.objects.all():
        staff[each.pk] = []
        for n in range(COLLEAGUES):
            user = User.objects.create(
                username=f"bench-{each.pk}-{n}", full_name=f"Bench Behandler {each.pk}-{n}"
            )
            membership = Membership.objects.create(user=user, unit=each, role=Role.PASIENTANSVARLIG)
            staff[each.pk].append((user, membership))
    # One statement for all units: the n-th course of a unit (in id order) goes to colleague
    # n mod COLLEAGUES (an UPDATE per 500 courses took minutes at a million).
    owners = [
        (unit_id, n, user.pk)
        for unit_id, users in staff.items()
        for n, (user, _membership) in enumerate(users)
    ]
    postgres = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_owner (unit_id int, n int, user_id bigint)")
        cursor.executemany("INSERT INTO bench_owner VALUES (%s, %s, %s)", owners)
        if postgres:
            # The marker's trigger would refresh each of a million courses on its own: off for
            # this statement, and the marker's owners set in one statement after it.
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            "UPDATE patients_course c SET owner_id = o.user_id "
            "FROM (SELECT id, unit_id, "
            "(row_number() OVER (PARTITION BY unit_id ORDER BY id) - 1) %% %s AS n "
            "FROM patients_course) r "
            "JOIN bench_owner o ON o.unit_id = r.unit_id AND o.n = r.n WHERE c.id = r.id",
            [COLLEAGUES],
        )
        if postgres:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            cursor.execute(
                "UPDATE worklists_unfinishedcourse u SET owner_id = c.owner_id "
                "FROM patients_course c WHERE c.id = u.course_id"
            )
        cursor.execute("DROP TABLE bench_owner")
    unit = Unit.objects.get(pk=ST_OLAVS)
    user, membership = staff[ST_OLAVS][0]
    # A patient whose seeded course completed (pre-treatment and follow-up orders), plus two
    # newly booked courses: the patient page shows three courses.
    course = (
        Course.objects.filter(unit=unit, status=Course.Status.ACTIVE)
        .annotate(n_orders=Count("orders"))
        .filter(n_orders__gte=3)
        .select_related("patient")
        .order_by("patient__national_id")
        .first()
    )
    if course is None:  # tiny sizes: any active course will do
        course = (
            Course.objects.filter(unit=unit, status=Course.Status.ACTIVE)
            .select_related("patient")
            .order_by("patient__national_id")
            .first()
        )
    if course is None:
        sys.exit("The seeded data has no active course at St. Olavs; use a larger --sizes.")
    patient = course.patient
    actor = Actor(user=user, name=str(user), role=Role.PASIENTANSVARLIG, unit_id=unit.pk)
    today = oslo_date(now)
    for planned_in, referral_ago in ((25, 5), (60, 2)):
        scheduling.book_course(
            actor=actor,
            patient=patient,
            unit=unit,
            referral_date=today - dt.timedelta(days=referral_ago),
            planned_date=today + dt.timedelta(days=planned_in),
            now=now,
        )
    # And a course past its planned date that the bench user has not finished, with another
    # patient: "Utgått planlagt konsultasjonsdato" has a row at every size (an empty list reads
    # no courses, which would count as a query count that changes with the data).
    other = (
        Course.objects.filter(unit=unit).exclude(patient=patient).select_related("patient").first()
    )
    if other is not None:
        scheduling.book_course(
            actor=actor,
            patient=other.patient,
            unit=unit,
            referral_date=today - dt.timedelta(days=40),
            planned_date=today - dt.timedelta(days=3),
            now=now,
        )
    fill_pages(actor, unit, patient, now)
    admin = User.objects.create(username="bench-audit", full_name="Bench Lokal Registeransvarlig")
    admin_membership = Membership.objects.create(
        user=admin, unit=unit, role=Role.LOKAL_REGISTERANSVARLIG
    )
    with connection.cursor() as cursor:  # marks the database complete, for --keep
        cursor.execute(
            "CREATE TABLE bench_fixture_v3 (membership_id bigint, admin_membership_id bigint, "
            "patient_id uuid, seed_seconds float)"
        )
        cursor.execute(
            "INSERT INTO bench_fixture_v3 VALUES (%s, %s, %s, %s)",
            [membership.pk, admin_membership.pk, patient.pk, seed_seconds],
        )
    return kept_fixture()


def kept_fixture() -> dict[str, Any]:
    """The fixture that :func:`prepare` wrote, read back (also from a kept database)."""
    from django.db import connection

    from nnrr.accounts.models import Membership
    from nnrr.patients.models import Patient

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM bench_fixture_v3")
        membership_id, admin_membership_id, patient_id, seed_seconds = cursor.fetchone()
    membership = Membership.objects.select_related("user").get(pk=membership_id)
    admin_membership = Membership.objects.select_related("user").get(pk=admin_membership_id)
    return {
        "user": membership.user,
        "membership": membership,
        "patient": Patient.objects.get(pk=patient_id),
        "admin": admin_membership.user,
        "admin_membership": admin_membership,
        "seed_seconds": seed_seconds,
    }


def logged_in_client(user: Any, membership: Any) -> Any:
    from django.test import Client

    from nnrr.accounts.middleware import LOGIN_TIME_SESSION_KEY
    from nnrr.accounts.profiles import PROFILE_SESSION_KEY

    client = Client()
    client.force_login(user, backend="nnrr.accounts.backends.IdentityBackend")
    session = client.session
    session[PROFILE_SESSION_KEY] = membership.pk
    session[LOGIN_TIME_SESSION_KEY] = time.time()
    session.save()
    return client


def row_counts() -> dict[str, int]:
    from nnrr.audit.models import AuditEvent
    from nnrr.patients.models import Course, Patient
    from nnrr.questionnaires.models import Response
    from nnrr.scheduling.models import Order

    models = {
        "patients": Patient,
        "courses": Course,
        "responses": Response,
        "orders": Order,
        "audit_events": AuditEvent,
    }
    return {name: model.objects.count() for name, model in models.items()}


# --- Measuring -------------------------------------------------------------------------------


def _request(client: Any, url: str, status: int, data: dict[str, str] | None) -> Any:
    # A search by fødselsnummer is a POST: the number never goes into the URL.
    response = client.post(url, data) if data is not None else client.get(url)
    if response.status_code != status:
        sys.exit(f"{url} answered {response.status_code}, expected {status}")
    return response


def count_queries(
    client: Any, url: str, status: int, warmup: int, data: dict[str, str] | None = None
) -> list[str]:
    """The statements of one request after ``warmup`` requests."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        _request(client, url, status, data)
    with CaptureQueriesContext(connection) as context:
        _request(client, url, status, data)
    # Copied at once: captured_queries slices connection.queries, which the next request empties.
    # The count includes BEGIN/COMMIT of atomic blocks, as assertNumQueries does.
    return [f"{float(q['time']) * 1000:.2f} ms  {q['sql']}" for q in context.captured_queries]


def timed(client: Any, url: str, status: int, data: dict[str, str] | None = None) -> float:
    """One request's server time in ms."""
    started = time.perf_counter()
    _request(client, url, status, data)
    return (time.perf_counter() - started) * 1000


def summary(url: str, sql: list[str], times: list[float]) -> dict[str, Any]:
    times = sorted(times)
    return {
        "url": url,
        "queries": len(sql),
        "sql": sql,
        "median_ms": statistics.median(times),
        "p90_ms": times[min(len(times) - 1, round(0.9 * (len(times) - 1)))],
        "samples": len(times),
    }


def run_size(
    size: int, sqlite_file: Path | None, repeat: int, warmup: int, keep: bool
) -> dict[str, Any]:
    from django.test import Client
    from django.test.utils import override_settings
    from django.utils import timezone

    now = timezone.now()
    if use_database(size, sqlite_file, keep):
        print(f"\n== {size:,} courses: the kept database {database_name(size)}", flush=True)
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)  # code newer than the data
        fixture = kept_fixture()
        seed_seconds = fixture["seed_seconds"]
    else:
        print(f"\n== {size:,} courses: migrating and seeding …", flush=True)
        seed_seconds = seed_database(size, now)
        fixture = prepare(now, seed_seconds)
        analyze()
    counts = row_counts()
    print(
        f"   seeded in {seed_seconds:.1f} s ({size / seed_seconds:,.0f} courses/s): "
        + ", ".join(f"{n:,} {name}" for name, n in counts.items()),
        flush=True,
    )
    print(f"   Machine: {machine()}", flush=True)
    patient = fixture["patient"]
    pages = {
        "front page": ("/", 200, True),
        "search": ("/pasient/sok/", 302, True),
        "patient page": (f"/pasient/{patient.pk}/", 200, True),
        "worklist mine": ("/arbeidsliste/mine/", 200, True),
        "worklist overdue": ("/arbeidsliste/utgatt/", 200, True),
        "worklist unit": ("/arbeidsliste/avdelingen/", 200, True),
        "worklist consent": ("/arbeidsliste/samtykke/", 200, True),
        "audit log": ("/logg/", 200, "admin"),
        "export page": ("/eksport/", 200, "admin"),
        "reports": ("/rapporter/", 200, "admin"),
        "report documents": ("/rapporter/pdf/", 200, "admin"),
        "bare view": (f"{BARE_PATH}?nid={patient.national_id}", 200, False),
        "bare view, logged in": (f"{BARE_PATH}?nid={patient.national_id}", 200, True),
    }
    results: dict[str, Any] = {}
    with override_settings(ROOT_URLCONF=__name__):
        client = logged_in_client(fixture["user"], fixture["membership"])
        admin = logged_in_client(fixture["admin"], fixture["admin_membership"])
        anonymous = Client()
        calls = {
            name: (
                admin if logged_in == "admin" else client if logged_in else anonymous,
                url,
                status,
                {"national_id": patient.national_id} if name == "search" else None,
            )
            for name, (url, status, logged_in) in pages.items()
        }
        sql = {name: count_queries(*call[:3], warmup, call[3]) for name, call in calls.items()}
        # The pages take turns, request by request: on a shared machine every page (and the
        # bare view it is compared with) then sees the same load, not whatever the machine
        # was doing during its own block of requests.
        times: dict[str, list[float]] = {name: [] for name in calls}
        for _ in range(repeat):
            for name, call in calls.items():
                times[name].append(timed(*call))
        for name, (_who, url, _status, _data) in calls.items():
            got = results[name] = summary(url, sql[name], times[name])
            print(
                f"   {name:<22} {got['queries']:>3} queries  "
                f"median {got['median_ms']:7.2f} ms  p90 {got['p90_ms']:7.2f} ms",
                flush=True,
            )
    return {"size": size, "seed_seconds": seed_seconds, "rows": counts, "pages": results}


# --- Report ----------------------------------------------------------------------------------


def short(size: int) -> str:
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def report(runs: list[dict[str, Any]], vendor: str) -> list[str]:
    """Print the table and the targets; return the targets missed."""
    labels = [short(run["size"]) for run in runs]
    largest = runs[-1]
    bare = largest["pages"]["bare view"]["median_ms"]
    bare_session = largest["pages"]["bare view, logged in"]["median_ms"]
    header = ["page"]
    header += [f"queries @{label}" for label in labels]
    for label in labels:
        header += [f"median ms @{label}", f"p90 @{label}"]
    header += [f"× bare @{labels[-1]}", f"× bare logged in @{labels[-1]}"]
    rows = []
    growing = []
    for name in runs[0]["pages"]:
        queries = [run["pages"][name]["queries"] for run in runs]
        if len(set(queries)) > 1:
            growing.append(name)
        row = [name] + [str(q) for q in queries]
        for run in runs:
            row += [f"{run['pages'][name]['median_ms']:.2f}", f"{run['pages'][name]['p90_ms']:.2f}"]
        median = largest["pages"][name]["median_ms"]
        row += [f"{median / bare:.1f}", f"{median / bare_session:.1f}"]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return " | ".join(
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        )

    print(f"\nPages on {vendor} (in-process Django test client; times in ms)")
    print(line(header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
    print(
        "\n'bare view' is requested without a session (1 query); 'bare view, logged in' adds the "
        "session, user and profile reads that every page pays; it writes nothing (the audited "
        "pages also INSERT and commit their audit event)."
    )
    real = [name for name in runs[0]["pages"] if not name.startswith("bare view")]
    smallest = runs[0]
    missed: list[str] = [f"{name}: query count grows with the data" for name in growing]
    print(f"\nTargets at {labels[-1]} (medians):")
    for name in real:
        at_large = largest["pages"][name]["median_ms"]
        growth = at_large / smallest["pages"][name]["median_ms"]
        floor_ratio = at_large / bare_session
        checks = [(f"{growth:.2f}× its own @{labels[0]}", growth <= TARGET_GROWTH)]
        checks.append((f"{floor_ratio:.1f}× the logged-in bare view", floor_ratio <= TARGET_FLOOR))
        if len(runs) == 1:
            checks = checks[1:]
        verdict = "; ".join(f"{text} {'ok' if ok else 'MISSED'}" for text, ok in checks)
        print(f"  {name:<18} {verdict}")
        missed += [f"{name}: {text}" for text, ok in checks if not ok]
    print(
        f"(targets: ≤ {TARGET_GROWTH}× its own time at the smallest size, ≤ {TARGET_FLOOR}× the "
        "logged-in bare view, the same query count at every size)"
    )
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", action="store_true", help="PostgreSQL at 127.0.0.1:5432")
    where.add_argument("--sqlite", action="store_true", help="SQLite in a temporary file")
    parser.add_argument(
        "--sizes",
        default="1000,100000,1000000",
        help="course counts, comma separated (default 1000,100000,1000000)",
    )
    parser.add_argument("--repeat", type=int, default=50, help="timed requests per page (≥ 30)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests first")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep each size's database (<prefix>_<size>) after the run and reuse it, as it is, "
        "when it is there from an earlier --keep run (else each is made afresh and dropped)",
    )
    args = parser.parse_args()
    try:
        sizes = sorted({int(part) for part in args.sizes.split(",") if part.strip()})
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 1000,100000")
    if not sizes or min(sizes) < 1:
        parser.error("--sizes needs at least one positive size")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    database_url, sqlite_file = choose_database(args)
    setup_django(database_url)
    from django.db import connection

    vendor = connection.vendor
    where = f"{PG_DATABASE}_<size>" if sqlite_file is None else sqlite_file
    print(f"Database: {vendor} ({where})")
    print(f"Machine: {machine()}")
    machine_before = machine()
    runs = []
    try:
        for size in sizes:
            runs.append(run_size(size, sqlite_file, args.repeat, args.warmup, args.keep))
            if sqlite_file is None and not args.keep:
                drop_database(size)
    finally:
        connection.close()
        if sqlite_file is not None:
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{sqlite_file}{suffix}").unlink()
            with contextlib.suppress(OSError):
                sqlite_file.parent.rmdir()

    missed = report(runs, vendor)
    print(f"Machine after: {machine()}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"pages-{vendor}.json"
    out.write_text(
        json.dumps(
            {
                "vendor": vendor,
                "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "repeat": args.repeat,
                "machine_before": machine_before,
                "machine_after": machine(),
                "runs": runs,
                "cpus": os.cpu_count(),
                "targets_missed": missed,
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    print(f"Results: {out.relative_to(ROOT)}")
    if missed:
        print("FAIL: " + "; ".join(missed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from nnrr.lib.scopes import unscoped

    # A benchmark sets up and checks rows at every unit (docs/decisions/0024).
    with unscoped("benchmark set-up and checks"):
        sys.exit(main())
