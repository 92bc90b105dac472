"""The marker of unfinished Behandlerskjema, kept by triggers, filled from the existing rows.

A course is marked when it is active and its Behandlerskjema (kind 1b) is Kladd (1) or Returnert
(5): the definition of ``nnrr.access.unfinished_courses``. Each trigger recomputes the mark of
the courses a row change touches, so it is right after any write: services, ORM ``update()``,
bulk loads, a DBA's SQL.
"""

from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION nnrr_worklist_refresh(course uuid) RETURNS void AS $$
BEGIN
  DELETE FROM worklists_unfinishedcourse WHERE course_id = course;
  INSERT INTO worklists_unfinishedcourse (course_id, unit_id, owner_id, planned_consultation_date, created_at)
  SELECT c.id, c.unit_id, c.owner_id, c.planned_consultation_date, c.created_at FROM patients_course c
  WHERE c.id = course AND c.status = 'active' AND EXISTS (
    SELECT 1 FROM questionnaires_response r
    WHERE r.course_id = c.id AND r.kind = '1b' AND r.status IN (1, 5));
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION nnrr_worklist_response_changed() RETURNS trigger AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN PERFORM nnrr_worklist_refresh(OLD.course_id); END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.course_id IS DISTINCT FROM OLD.course_id) THEN
    PERFORM nnrr_worklist_refresh(NEW.course_id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER worklists_response_changed
AFTER INSERT OR DELETE OR UPDATE OF course_id, kind, status ON questionnaires_response
FOR EACH ROW EXECUTE FUNCTION nnrr_worklist_response_changed();

CREATE OR REPLACE FUNCTION nnrr_worklist_course_changed() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM worklists_unfinishedcourse WHERE course_id = OLD.id;
  ELSE
    PERFORM nnrr_worklist_refresh(NEW.id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER worklists_course_changed
AFTER DELETE OR UPDATE OF status, owner_id, unit_id, planned_consultation_date ON patients_course
FOR EACH ROW EXECUTE FUNCTION nnrr_worklist_course_changed();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS worklists_response_changed ON questionnaires_response;
DROP TRIGGER IF EXISTS worklists_course_changed ON patients_course;
DROP FUNCTION IF EXISTS nnrr_worklist_response_changed();
DROP FUNCTION IF EXISTS nnrr_worklist_course_changed();
DROP FUNCTION IF EXISTS nnrr_worklist_refresh(uuid);
"""


SQLITE_REFRESH = """
  DELETE FROM worklists_unfinishedcourse WHERE course_id = COURSE;
  INSERT INTO worklists_unfinishedcourse (course_id, unit_id, owner_id, planned_consultation_date, created_at)
  SELECT c.id, c.unit_id, c.owner_id, c.planned_consultation_date, c.created_at FROM patients_course c
  WHERE c.id = COURSE AND c.status = 'active' AND EXISTS (
    SELECT 1 FROM questionnaires_response r
    WHERE r.course_id = c.id AND r.kind = '1b' AND r.status IN (1, 5));"""


def _sqlite_refresh(course: str) -> str:
    """The refresh statements for ``course``: NEW.course_id, OLD.course_id or NEW.id."""
    return SQLITE_REFRESH.replace("COURSE", course)


SQLITE_FORWARD = [
    "CREATE TRIGGER worklists_response_inserted AFTER INSERT ON questionnaires_response BEGIN"
    + _sqlite_refresh("NEW.course_id")
    + " END;",
    "CREATE TRIGGER worklists_response_deleted AFTER DELETE ON questionnaires_response BEGIN"
    + _sqlite_refresh("OLD.course_id")
    + " END;",
    "CREATE TRIGGER worklists_response_updated AFTER UPDATE OF course_id, kind, status "
    "ON questionnaires_response BEGIN"
    + _sqlite_refresh("OLD.course_id")
    + _sqlite_refresh("NEW.course_id")
    + " END;",
    "CREATE TRIGGER worklists_course_updated AFTER UPDATE OF status, owner_id, unit_id, "
    "planned_consultation_date ON patients_course BEGIN" + _sqlite_refresh("NEW.id") + " END;",
    "CREATE TRIGGER worklists_course_deleted AFTER DELETE ON patients_course BEGIN "
    "DELETE FROM worklists_unfinishedcourse WHERE course_id = OLD.id; END;",
]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "worklists_response_inserted",
        "worklists_response_deleted",
        "worklists_response_updated",
        "worklists_course_updated",
        "worklists_course_deleted",
    )
]

BACKFILL = """
INSERT INTO worklists_unfinishedcourse (course_id, unit_id, owner_id, planned_consultation_date, created_at)
SELECT c.id, c.unit_id, c.owner_id, c.planned_consultation_date, c.created_at FROM patients_course c
WHERE c.status = 'active' AND EXISTS (
  SELECT 1 FROM questionnaires_response r
  WHERE r.course_id = c.id AND r.kind = '1b' AND r.status IN (1, 5))
"""


def forward(apps: Any, schema_editor: Any) -> None:
    statements = [PG_FORWARD] if schema_editor.connection.vendor == "postgresql" else SQLITE_FORWARD
    for statement in [*statements, BACKFILL]:
        schema_editor.execute(statement)


def backward(apps: Any, schema_editor: Any) -> None:
    statements = (
        [PG_BACKWARD] if schema_editor.connection.vendor == "postgresql" else SQLITE_BACKWARD
    )
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_membership_export_permission_and_end_date"),
        ("patients", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="UnfinishedCourse",
            fields=[
                (
                    "course",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="patients.course",
                    ),
                ),
                ("planned_consultation_date", models.DateField()),
                ("created_at", models.DateTimeField()),
                (
                    "owner",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "unit",
                    models.ForeignKey(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="accounts.unit",
                    ),
                ),
            ],
            options={
                "managed": True,
                "indexes": [
                    models.Index(
                        fields=["unit", "owner", "planned_consultation_date", "created_at"],
                        name="unfinished_unit_owner",
                    ),
                    models.Index(
                        fields=["unit", "planned_consultation_date", "created_at"],
                        name="unfinished_unit_date",
                    ),
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
