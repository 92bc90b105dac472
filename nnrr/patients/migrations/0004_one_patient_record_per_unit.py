"""Every patient record has its unit; one record per unit and national id; the shared
registration table is gone."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_membership_export_permission_and_end_date"),
        ("patients", "0003_split_shared_patient_records"),
    ]

    operations = [
        migrations.AlterField(
            model_name="patient",
            name="unit",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="accounts.unit",
                verbose_name="enhet",
            ),
        ),
        migrations.AddConstraint(
            model_name="patient",
            constraint=models.UniqueConstraint(
                fields=("unit", "national_id"), name="patient_one_record_per_unit"
            ),
        ),
        migrations.DeleteModel(name="UnitPatient"),
    ]
