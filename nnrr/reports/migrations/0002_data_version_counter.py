"""A counter that moves whenever the data the reports count change, kept by triggers.

The reports cache their counts per data version. Reading the version must not cost a scan of
every form (it is read on every report view, whatever the size of the registry's history), so a
trigger on each table the reports read moves a counter on every inserted, changed or deleted row:
on PostgreSQL a sequence (no row lock, so concurrent writers never wait on each other or
deadlock), on SQLite a one-row table (SQLite has one writer at a time anyway). The triggers see
every write: services, ORM ``update()``, bulk loads, a DBA's SQL.

The counter is created outside Django's models on purpose: ``flush`` (tests) must not empty it.
"""

from typing import Any

from django.db import migrations

TABLES = (
    "questionnaires_response",
    "patients_course",
    "patients_patient",
    "reports_coverageentry",
)

PG_FORWARD = [
    "CREATE SEQUENCE IF NOT EXISTS reports_data_version",
    """
    CREATE OR REPLACE FUNCTION nnrr_reports_data_changed() RETURNS trigger AS $$
    BEGIN
      PERFORM nextval('reports_data_version');
      RETURN NULL;
    END $$ LANGUAGE plpgsql
    """,
    *(
        f"CREATE TRIGGER reports_version_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION nnrr_reports_data_changed()"
        for table in TABLES
    ),
    *(
        f"CREATE TRIGGER reports_version_{table}_truncate AFTER TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION nnrr_reports_data_changed()"
        for table in TABLES
    ),
]
PG_BACKWARD = [
    *(f"DROP TRIGGER IF EXISTS reports_version_{table} ON {table}" for table in TABLES),
    *(f"DROP TRIGGER IF EXISTS reports_version_{table}_truncate ON {table}" for table in TABLES),
    "DROP FUNCTION IF EXISTS nnrr_reports_data_changed()",
    "DROP SEQUENCE IF EXISTS reports_data_version",
]

SQLITE_FORWARD = [
    "CREATE TABLE IF NOT EXISTS reports_data_version "
    "(id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO reports_data_version (id, n) VALUES (1, 0)",
    *(
        f"CREATE TRIGGER IF NOT EXISTS reports_version_{table}_{event.lower()} "  # noqa: S608
        f"AFTER {event} ON {table} "
        "BEGIN UPDATE reports_data_version SET n = n + 1 WHERE id = 1; END"
        for table in TABLES
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
]
SQLITE_BACKWARD = [
    *(
        f"DROP TRIGGER IF EXISTS reports_version_{table}_{event.lower()}"
        for table in TABLES
        for event in ("INSERT", "UPDATE", "DELETE")
    ),
    "DROP TABLE IF EXISTS reports_data_version",
]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_coverage_documents_subscriptions"),
        ("questionnaires", "0007_response_visit_date"),
        ("patients", "0004_one_patient_record_per_unit"),
    ]

    operations = [
        migrations.RunPython(
            _run({"postgresql": PG_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": PG_BACKWARD, "sqlite": SQLITE_BACKWARD}),
        ),
    ]
