"""The database refuses to remove audit rows, as it already refuses to change them.

PostgreSQL: DELETE joins UPDATE in the row trigger, and a statement trigger refuses TRUNCATE.
SQLite: a DELETE trigger beside the UPDATE one (SQLite has no TRUNCATE; ``DELETE FROM`` without a
WHERE clause fires row triggers too). Only the owner of the table can drop or disable these
triggers; the application runs as a role that does not own the tables (docs/operations.md).
"""

from django.db import migrations

# The row trigger of 0002 already refuses UPDATE and DELETE on PostgreSQL.
PG_FORWARD = """
CREATE TRIGGER audit_auditevent_no_truncate
    BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION nnrr_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
"""
SQLITE_FORWARD = """
CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS audit_auditevent_no_delete;"


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_refuse_audit_updates_in_database")]
    operations = [migrations.RunPython(forward, backward)]
