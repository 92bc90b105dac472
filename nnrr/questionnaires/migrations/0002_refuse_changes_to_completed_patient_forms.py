"""The database refuses any UPDATE of a completed patient form (1a, 2, 3).

Corrections are new linked versions; removal of content (withdrawal, purge) deletes the row.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION nnrr_completed_patient_form_immutable() RETURNS trigger AS $$
BEGIN
    IF OLD.status = 2 AND OLD.kind IN ('1a', '2', '3') THEN
        RAISE EXCEPTION 'a completed patient form cannot be changed';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER questionnaires_response_immutable
    BEFORE UPDATE ON questionnaires_response
    FOR EACH ROW EXECUTE FUNCTION nnrr_completed_patient_form_immutable();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS questionnaires_response_immutable ON questionnaires_response;
DROP FUNCTION IF EXISTS nnrr_completed_patient_form_immutable();
"""
SQLITE_FORWARD = """
CREATE TRIGGER questionnaires_response_immutable BEFORE UPDATE ON questionnaires_response
WHEN OLD.status = 2 AND OLD.kind IN ('1a', '2', '3')
BEGIN SELECT RAISE(ABORT, 'a completed patient form cannot be changed'); END;
"""
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS questionnaires_response_immutable;"


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
    dependencies = [("questionnaires", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
