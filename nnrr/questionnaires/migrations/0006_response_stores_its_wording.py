"""Each response stores the wording of the licensed instruments it was answered under.

On SQLite, adding a column rebuilds the table and drops its triggers, so the trigger that refuses
changes to completed patient forms (0002) is created again afterwards.
"""

from django.db import migrations, models

SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS questionnaires_response_immutable
BEFORE UPDATE ON questionnaires_response
WHEN OLD.status = 2 AND OLD.kind IN ('1a', '2', '3')
BEGIN SELECT RAISE(ABORT, 'a completed patient form cannot be changed'); END;
"""


def keep_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("questionnaires", "0005_form_return_reasons"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="wording",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(keep_trigger, migrations.RunPython.noop),
    ]
