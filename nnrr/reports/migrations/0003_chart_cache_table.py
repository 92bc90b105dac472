"""The table of the "charts" cache (settings.CACHES) when no Redis is configured: a report page's
charts are drawn when the browser asks for them, perhaps in another web process than the one
that made the page, so they are kept where every process sees them."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Creates the tables of the database-backed caches in the settings (none with Redis);
    # a table that is there already is left as it is.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS nnrr_chart_cache")


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_data_version_counter")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
