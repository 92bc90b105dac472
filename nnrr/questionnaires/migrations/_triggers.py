"""The SQL of the completed-patient-form immutability trigger, for migrations that must create it
again (SQLite drops a table's triggers when a migration rebuilds the table)."""

import importlib

_initial = importlib.import_module(
    "nnrr.questionnaires.migrations.0002_refuse_changes_to_completed_patient_forms"
)
SQLITE_FORWARD = _initial.SQLITE_FORWARD
SQLITE_BACKWARD = _initial.SQLITE_BACKWARD
