"""An index of the unfinished Behandlerskjema (Kladd, Returnert) for the worklists.

The front page counts, the worklists and the red dot join a unit's courses to their unfinished
clinician form. Without this index that join reads the form row of every course the unit (or the
user) ever had; with it, the join stays inside a small index of the forms still being worked on.
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
                condition=models.Q(("kind", "1b"), ("status__in", [1, 5])),
                fields=["course"],
                name="response_unfinished_1b",
            ),
        ),
    ]
