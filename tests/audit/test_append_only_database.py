"""Audit rows survive whatever SQL reaches the database: UPDATE, DELETE and TRUNCATE are refused
by triggers, and the application's role (not the tables' owner) cannot lift those triggers."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from nnrr.audit import triggers
from nnrr.audit.models import AuditEvent


def _event() -> AuditEvent:
    return AuditEvent.objects.create(at=timezone.now(), action="nnrr.test.kept")


def test_the_database_refuses_to_delete_an_event(db: Any) -> None:
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_database_refuses_to_empty_the_audit_table(db: Any) -> None:
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_flush_lifts_the_triggers_only_while_it_runs(db: Any) -> None:
    """The owner's flush (test teardown, emptying a demo) may empty the table; afterwards the
    triggers refuse deletes again."""
    _event()
    with triggers.suspended(connection), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent")
    assert not AuditEvent.objects.exists()
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- PostgreSQL: TRUNCATE, and the application's role ---------------------------------------


def _postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE and roles are PostgreSQL's")


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_the_audit_table(db: Any) -> None:
    _postgres()
    event = _event()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.fixture
def app_role(db: Any) -> Iterator[psycopg.Connection[Any]]:
    """A connection as a role like the one docs/operations.md runs the application as: it may
    read and write every table (TRUNCATE included, to show the trigger holds anyway) but owns
    none. Created outside the test's transaction and dropped afterwards."""
    _postgres()
    settings_dict = connection.settings_dict
    dsn = {
        "host": settings_dict["HOST"] or "127.0.0.1",
        "port": settings_dict["PORT"] or 5432,
        "dbname": settings_dict["NAME"],
        "user": settings_dict["USER"],
    }
    if settings_dict["PASSWORD"]:
        dsn["password"] = settings_dict["PASSWORD"]
    role = f"nnrr_app_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    password = uuid.uuid4().hex
    with psycopg.connect(**dsn, autocommit=True) as owner:
        owner.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        owner.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        owner.execute(
            f"GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public "
            f"TO {role}"
        )
        owner.execute(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role}")
    app = psycopg.connect(**{**dsn, "user": role, "password": password})
    try:
        yield app
    finally:
        app.close()
        with psycopg.connect(**dsn, autocommit=True) as owner:
            owner.execute(f"DROP OWNED BY {role}")
            owner.execute(f"DROP ROLE {role}")


def _refused(app: psycopg.Connection[Any], sql: str) -> str:
    """Run ``sql`` as the application's role in a transaction; the error it got."""
    try:
        with app.transaction():
            app.execute(
                "INSERT INTO audit_auditevent (at, actor_name, role, action, outcome, "
                "object_type, object_id, detail) VALUES (now(), '', '', 'nnrr.test.row', 'ok', "
                "'', '', '{}')"
            )
            app.execute(sql)
    except psycopg.Error as exc:
        return str(exc)
    raise AssertionError(f"{sql!r} was not refused")


@pytest.mark.postgres
def test_the_application_role_cannot_delete_update_or_truncate_audit_rows(
    app_role: psycopg.Connection[Any],
) -> None:
    assert "append-only" in _refused(app_role, "DELETE FROM audit_auditevent")
    assert "append-only" in _refused(app_role, "UPDATE audit_auditevent SET action = 'x'")
    assert "append-only" in _refused(app_role, "TRUNCATE audit_auditevent")


@pytest.mark.postgres
def test_the_application_role_cannot_drop_or_disable_the_triggers(
    app_role: psycopg.Connection[Any],
) -> None:
    for sql in (
        "DROP TRIGGER audit_auditevent_append_only ON audit_auditevent",
        "DROP TRIGGER audit_auditevent_no_truncate ON audit_auditevent",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
        "DROP FUNCTION nnrr_audit_append_only() CASCADE",
    ):
        assert "must be owner" in _refused(app_role, sql), sql
    # and so the rows are still refused afterwards
    assert "append-only" in _refused(app_role, "DELETE FROM audit_auditevent")
