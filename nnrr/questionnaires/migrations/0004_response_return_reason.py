"""Why a completed Behandlerskjema was returned is kept with the form (never in the audit
trail). SQLite rebuilds the table to add the column, which drops its triggers: the
immutability trigger of completed patient forms is created again."""

from django.db import migrations, models

from nnrr.questionnaires.migrations import _triggers


def recreate_immutability_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_triggers.SQLITE_BACKWARD)
        schema_editor.execute(_triggers.SQLITE_FORWARD)


class Migration(migrations.Migration):
    dependencies = [("questionnaires", "0003_index_unfinished_clinician_forms")]

    operations = [
        migrations.AddField(
            model_name="response",
            name="return_reason",
            field=models.CharField(
                blank=True, max_length=500, verbose_name="begrunnelse for retur"
            ),
        ),
        migrations.RunPython(recreate_immutability_trigger, migrations.RunPython.noop),
    ]
