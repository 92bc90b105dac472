"""An index of the Behandlerskjema by status, for the worklists and the front page counts.

The front page counts, the worklists and the red dot join a unit's courses to their unfinished
clinician form (Kladd, Returnert). Without this index the join reads the form row of every course
the unit (or the user) ever had; with it, the status is read from the index alone (PostgreSQL
scans just the unfinished entries, SQLite probes it per course without touching the forms).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("questionnaires", "0002_refuse_changes_to_completed_patient_forms"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="response",
            index=models.Index(
                condition=models.Q(("kind", "1b")),
                fields=["status", "course"],
                name="response_1b_status_course",
            ),
        ),
    ]
