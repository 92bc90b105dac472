"""The marker of open pre-treatment orders ("Pasienter uten informasjon om samtykke"), kept by
triggers, filled from the existing rows.

An order is marked when it is a Pasientskjema før behandling (kind 1a) in an open state
(planned, sent, reminded). The triggers fire only when that can change (an order inserted or
deleted open, its kind, course or openness changed; a course's unit or planned date changed),
so the dispatch worker's planned → sent → reminded steps cost nothing here.
"""

from typing import Any

import django.db.models.deletion
from django.db import migrations, models

PG_FORWARD = """
CREATE OR REPLACE FUNCTION nnrr_waiting_refresh(the_order uuid) RETURNS void AS $$
BEGIN
  DELETE FROM worklists_waitingorder WHERE order_id = the_order;
  INSERT INTO worklists_waitingorder (order_id, unit_id, planned_consultation_date, created_at)
  SELECT o.id, c.unit_id, c.planned_consultation_date, c.created_at
  FROM scheduling_order o JOIN patients_course c ON c.id = o.course_id
  WHERE o.id = the_order AND o.kind = '1a' AND o.state IN ('planned', 'sent', 'reminded');
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION nnrr_waiting_order_changed() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM worklists_waitingorder WHERE order_id = OLD.id;
  ELSE
    PERFORM nnrr_waiting_refresh(NEW.id);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER worklists_waiting_order_inserted AFTER INSERT ON scheduling_order
FOR EACH ROW WHEN (NEW.kind = '1a' AND NEW.state IN ('planned', 'sent', 'reminded'))
EXECUTE FUNCTION nnrr_waiting_order_changed();

CREATE TRIGGER worklists_waiting_order_deleted AFTER DELETE ON scheduling_order
FOR EACH ROW WHEN (OLD.kind = '1a' AND OLD.state IN ('planned', 'sent', 'reminded'))
EXECUTE FUNCTION nnrr_waiting_order_changed();

CREATE TRIGGER worklists_waiting_order_updated
AFTER UPDATE OF course_id, kind, state ON scheduling_order
FOR EACH ROW WHEN (
  OLD.course_id IS DISTINCT FROM NEW.course_id OR OLD.kind IS DISTINCT FROM NEW.kind
  OR (OLD.state IN ('planned', 'sent', 'reminded')) IS DISTINCT FROM (NEW.state IN ('planned', 'sent', 'reminded')))
EXECUTE FUNCTION nnrr_waiting_order_changed();

CREATE OR REPLACE FUNCTION nnrr_waiting_course_changed() RETURNS trigger AS $$
BEGIN
  UPDATE worklists_waitingorder w
  SET unit_id = NEW.unit_id, planned_consultation_date = NEW.planned_consultation_date,
      created_at = NEW.created_at
  FROM scheduling_order o WHERE o.course_id = NEW.id AND w.order_id = o.id;
  RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER worklists_waiting_course_changed
AFTER UPDATE OF unit_id, planned_consultation_date, created_at ON patients_course
FOR EACH ROW WHEN (
  OLD.unit_id IS DISTINCT FROM NEW.unit_id
  OR OLD.planned_consultation_date IS DISTINCT FROM NEW.planned_consultation_date
  OR OLD.created_at IS DISTINCT FROM NEW.created_at)
EXECUTE FUNCTION nnrr_waiting_course_changed();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS worklists_waiting_order_inserted ON scheduling_order;
DROP TRIGGER IF EXISTS worklists_waiting_order_deleted ON scheduling_order;
DROP TRIGGER IF EXISTS worklists_waiting_order_updated ON scheduling_order;
DROP TRIGGER IF EXISTS worklists_waiting_course_changed ON patients_course;
DROP FUNCTION IF EXISTS nnrr_waiting_order_changed();
DROP FUNCTION IF EXISTS nnrr_waiting_course_changed();
DROP FUNCTION IF EXISTS nnrr_waiting_refresh(uuid);
"""

SQLITE_REFRESH = """
  DELETE FROM worklists_waitingorder WHERE order_id = NEW.id;
  INSERT INTO worklists_waitingorder (order_id, unit_id, planned_consultation_date, created_at)
  SELECT o.id, c.unit_id, c.planned_consultation_date, c.created_at
  FROM scheduling_order o JOIN patients_course c ON c.id = o.course_id
  WHERE o.id = NEW.id AND o.kind = '1a' AND o.state IN ('planned', 'sent', 'reminded');"""

SQLITE_FORWARD = [
    "CREATE TRIGGER worklists_waiting_order_inserted AFTER INSERT ON scheduling_order "
    "WHEN NEW.kind = '1a' AND NEW.state IN ('planned', 'sent', 'reminded') BEGIN"
    + SQLITE_REFRESH
    + " END;",
    "CREATE TRIGGER worklists_waiting_order_deleted AFTER DELETE ON scheduling_order "
    "WHEN OLD.kind = '1a' AND OLD.state IN ('planned', 'sent', 'reminded') BEGIN "
    "DELETE FROM worklists_waitingorder WHERE order_id = OLD.id; END;",
    "CREATE TRIGGER worklists_waiting_order_updated "
    "AFTER UPDATE OF course_id, kind, state ON scheduling_order "
    "WHEN OLD.course_id IS NOT NEW.course_id OR OLD.kind IS NOT NEW.kind "
    "OR (OLD.state IN ('planned', 'sent', 'reminded')) IS NOT (NEW.state IN ('planned', 'sent', 'reminded')) BEGIN"
    + SQLITE_REFRESH
    + " END;",
    "CREATE TRIGGER worklists_waiting_course_changed "
    "AFTER UPDATE OF unit_id, planned_consultation_date, created_at ON patients_course "
    "WHEN OLD.unit_id IS NOT NEW.unit_id "
    "OR OLD.planned_consultation_date IS NOT NEW.planned_consultation_date "
    "OR OLD.created_at IS NOT NEW.created_at BEGIN "
    "UPDATE worklists_waitingorder SET unit_id = NEW.unit_id, "
    "planned_consultation_date = NEW.planned_consultation_date, created_at = NEW.created_at "
    "WHERE order_id IN (SELECT id FROM scheduling_order WHERE course_id = NEW.id); END;",
]

SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "worklists_waiting_order_inserted",
        "worklists_waiting_order_deleted",
        "worklists_waiting_order_updated",
        "worklists_waiting_course_changed",
    )
]

BACKFILL = """
INSERT INTO worklists_waitingorder (order_id, unit_id, planned_consultation_date, created_at)
SELECT o.id, c.unit_id, c.planned_consultation_date, c.created_at
FROM scheduling_order o JOIN patients_course c ON c.id = o.course_id
WHERE o.kind = '1a' AND o.state IN ('planned', 'sent', 'reminded')
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
    dependencies = [
        ("worklists", "0001_unfinished_course_marker"),
        ("scheduling", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="WaitingOrder",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="scheduling.order",
                    ),
                ),
                ("planned_consultation_date", models.DateField()),
                ("created_at", models.DateTimeField()),
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
                        fields=["unit", "planned_consultation_date", "created_at", "order"],
                        name="waiting_unit_date",
                    )
                ],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
