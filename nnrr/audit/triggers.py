"""The append-only triggers on the audit table, for the one command that may lift them.

The application never deletes audit rows and, running as a role that does not own the tables,
cannot lift the triggers. ``manage.py flush`` (run by the owner: it empties every table, as
the test suite does between transactional tests) lifts them for the duration of the flush only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.backends.base.base import BaseDatabaseWrapper

TABLE = "audit_auditevent"


@contextmanager
def suspended(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """Lift the audit table's triggers while the block runs; they are back afterwards, also
    when the block fails. Needs the table owner's rights on PostgreSQL."""
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    if TABLE not in tables:
        yield
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
            triggers = cursor.fetchall()
            for name, _sql in triggers:
                cursor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for _name, sql in triggers:
                    cursor.execute(sql)
    else:
        yield
