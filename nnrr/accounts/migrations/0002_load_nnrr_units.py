"""The 16 units reporting to NNRR (domain.md §1)."""

from django.db import migrations

UNITS = [
    (102959, "Haukeland", "Helse Bergen HF, Haukeland universitetssjukehus", "974557746"),
    (104293, "St. Olavs", "St. Olavs hospital HF", "974749025"),
    (109834, "OUS", "Oslo universitetssykehus HF", "974589095"),
    (601032, "UNN-Tromsø", "Universitetssykehuset Nord-Norge HF, Tromsø", "974795787"),
    (700735, "UNN-Harstad", "Universitetssykehuset Nord-Norge HF, Harstad", "974795639"),
    (102169, "Sandnessjøen", "Helgelandssykehuset HF, Sandnessjøen", "974795477"),
    (114174, "Kristiansand", "Sørlandet sykehus HF", "974733013"),
    (4211588, "Stavanger", "Helse Stavanger HF, Stavanger universitetssjukehus", "974703300"),
    (4212982, "Ålesund", "Helse Møre og Romsdal HF, Ålesund", "974747138"),
    (105821, "Levanger", "Helse Nord-Trøndelag HF, Levanger", "974754118"),
    (103736, "Drammen", "Vestre Viken HF, Drammen", "974631326"),
    (700138, "Stavern", "Sykehuset i Vestfold HF, Rehabilitering Stavern", "974575396"),
    (700701, "NLSH", "Nordlandssykehuset HF", "993562718"),
    (4216667, "SI-Ottestad", "Sykehuset Innlandet HF, Ottestad", "874631752"),
    (701433, "Stord", "Helse Fonna HF, Stord", "996328112"),
    (101831, "Kirkenes", "Finnmarkssykehuset HF, Kirkenes", "974795930"),
]


def load_units(apps, schema_editor):
    Unit = apps.get_model("accounts", "Unit")
    for resh_id, short_name, name, org_nr in UNITS:
        Unit.objects.update_or_create(
            resh_id=resh_id,
            defaults={"short_name": short_name, "name": name, "organisation_number": org_nr},
        )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(load_units, migrations.RunPython.noop)]
