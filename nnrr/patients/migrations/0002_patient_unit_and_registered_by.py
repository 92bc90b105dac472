"""A patient record belongs to a unit: the unit field (filled by the next migration) and the
national id no longer unique on its own (one record per unit, docs/decisions/0013)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_membership_export_permission_and_end_date"),
        ("patients", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="unit",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="patients",
                to="accounts.unit",
                verbose_name="enhet",
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="registered_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="patient",
            name="national_id",
            field=models.CharField(db_index=True, max_length=11, verbose_name="fødselsnummer"),
        ),
    ]
