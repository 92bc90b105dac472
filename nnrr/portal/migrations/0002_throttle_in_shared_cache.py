"""The portal's address throttle moves to the "throttle" cache (settings.CACHES): Redis when
configured, else this table of the database, which every web process shares."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    # Creates the tables of the database-backed caches in the settings (none with Redis);
    # a table that is there already is left as it is.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute("DROP TABLE IF EXISTS nnrr_throttle_cache")


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.DeleteModel(name="PortalThrottle"),
        migrations.RunPython(create_cache_table, drop_cache_table),
    ]
