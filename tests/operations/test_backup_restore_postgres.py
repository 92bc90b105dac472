"""The backup procedure of docs/operations.md, run for real: ``pg_dump --format=custom`` of a
seeded registry, ``pg_restore`` into a fresh database, and every table compared, row counts and
a checksum of the rows, the audit log included. The restored database still refuses changes to
the audit log, and the application's migrations find nothing to do there.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone
from psycopg import sql

from nnrr.audit.models import AuditEvent
from nnrr.demo.bulk import seed
from nnrr.scheduling import dispatch
from nnrr.scheduling.channels import FileChannel
from tests.conftest import ST_OLAVS, book, make_patient, make_persona
from tests.scheduling.test_two_workers_postgres import _test_database_url

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("pg_dump and pg_restore need PostgreSQL")
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump/pg_restore are not installed")
    version = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True).stdout
    found = re.search(r"\) (\d+)", version)  # "pg_dump (PostgreSQL) 15.20 (Debian …)"
    client_major = int(found.group(1)) if found else 0
    if client_major < connection.pg_version // 10000:  # type: ignore[attr-defined]
        pytest.skip(f"pg_dump {client_major} cannot dump a newer server")


def _connect_kwargs(name: str) -> dict[str, Any]:
    db = connection.settings_dict
    return {
        "host": db.get("HOST") or "127.0.0.1",
        "port": db.get("PORT") or 5432,
        "user": db.get("USER") or "postgres",
        "password": db.get("PASSWORD") or None,
        "dbname": name,
    }


def _client_env() -> dict[str, str]:
    db = connection.settings_dict
    env = {
        **os.environ,
        "PGHOST": str(db.get("HOST") or "127.0.0.1"),
        "PGPORT": str(db.get("PORT") or 5432),
        "PGUSER": str(db.get("USER") or "postgres"),
    }
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


@pytest.fixture
def restored_name() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restored"
    admin = _connect_kwargs("postgres")
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield name
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
    ).fetchall()
    return [row[0] for row in rows]


def _fingerprint(name: str) -> dict[str, tuple[int, str]]:
    """Per table: row count and an md5 over every row's text, in a fixed order; sequences too."""
    with psycopg.connect(**_connect_kwargs(name)) as conn:
        result: dict[str, tuple[int, str]] = {}
        for table in _tables(conn):
            count, digest = conn.execute(
                sql.SQL(
                    "SELECT count(*),"
                    " coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t::text)), '') FROM {} t"
                ).format(sql.Identifier(table))
            ).fetchone()  # type: ignore[misc]
            result[table] = (count, digest)
        for (sequence,) in conn.execute(
            "SELECT sequence_name FROM information_schema.sequences "
            "WHERE sequence_schema = 'public'"
        ).fetchall():
            last, called = conn.execute(
                sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(sequence))
            ).fetchone()  # type: ignore[misc]
            result[f"sequence {sequence}"] = (int(last), str(called))
        return result


def _seed_registry(tmp_path: Path) -> None:
    """Seven years of courses with answers, plus today's work through the services: bookings,
    a sent questionnaire, and their audit events."""
    now = timezone.now()
    seed(scale=300, now=now, out=io.StringIO(), answers=True)
    clinician = make_persona("clinician")
    booked = [
        book(clinician, make_patient(ST_OLAVS, name=f"Backup Pasient {n}"), planned_in_days=2)
        for n in range(3)
    ]
    later = now + dt.timedelta(days=1)
    dispatch.run_pass(worker_id="backup-test", now=later, channel=FileChannel(tmp_path / "outbox"))
    assert booked and AuditEvent.objects.exists()


def test_a_dump_restored_into_a_fresh_database_has_every_row_of_every_table(
    tmp_path: Path, restored_name: str
) -> None:
    _seed_registry(tmp_path)
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "nnrr.dump"
    env = _client_env()

    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", source],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={restored_name}", str(dump)],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )

    before, after = _fingerprint(source), _fingerprint(restored_name)
    assert before["audit_auditevent"][0] > 0
    assert before["patients_course"][0] >= 300
    assert before["questionnaires_response"][0] > 300
    assert sorted(after) == sorted(before)
    differing = [table for table in before if before[table] != after[table]]
    assert differing == []

    # The restored audit log is still append-only.
    with (
        psycopg.connect(**_connect_kwargs(restored_name)) as conn,
        pytest.raises(psycopg.errors.RaiseException),
    ):
        conn.execute("UPDATE audit_auditevent SET action = 'changed'")

    # The application runs on the restored database: no migration left to apply.
    check = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check", "--noinput"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": _test_database_url().rsplit("/", 1)[0] + f"/{restored_name}",
            "NNRR_DEMO": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout + check.stderr
