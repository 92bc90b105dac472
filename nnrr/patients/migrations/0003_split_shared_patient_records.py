"""Carry today's shared patient rows over to one record per unit.

For a person registered at several units, the unit that registered them first keeps the row;
every other unit gets its own copy (same identity and contact data as on record) and that unit's
courses move to the copy. Audit events keep pointing at the row they were written for (audit
rows are never changed). A row no unit has registered and no course uses is unreachable and is
removed.
"""

import uuid

from django.db import migrations


def split_shared_records(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    UnitPatient = apps.get_model("patients", "UnitPatient")
    Course = apps.get_model("patients", "Course")
    pending = list(Patient.objects.filter(unit__isnull=True).values_list("pk", flat=True))
    for pk in pending:
        patient = Patient.objects.get(pk=pk)
        links = list(UnitPatient.objects.filter(patient=patient).order_by("registered_at", "pk"))
        units = [(link.unit_id, link.registered_by_id, link.registered_at) for link in links]
        linked = {unit_id for unit_id, _by, _at in units}
        for course in Course.objects.filter(patient=patient).order_by("created_at"):
            if course.unit_id not in linked:
                linked.add(course.unit_id)
                units.append((course.unit_id, course.created_by_id, course.created_at))
        if not units:
            patient.delete()
            continue
        first_unit, first_by, _first_at = units[0]
        Patient.objects.filter(pk=patient.pk).update(unit_id=first_unit, registered_by_id=first_by)
        for unit_id, registered_by, registered_at in units[1:]:
            copy = Patient.objects.create(
                id=uuid.uuid4(),
                unit_id=unit_id,
                national_id=patient.national_id,
                id_kind=patient.id_kind,
                name=patient.name,
                birth_date=patient.birth_date,
                sex=patient.sex,
                email=patient.email,
                mobile=patient.mobile,
                consent_withdrawn_at=patient.consent_withdrawn_at,
                registered_by_id=registered_by,
            )
            Patient.objects.filter(pk=copy.pk).update(created_at=registered_at)
            Course.objects.filter(patient=patient, unit_id=unit_id).update(patient=copy)


def merge_records(apps, schema_editor):
    """Back to one shared row per person: the oldest record keeps everything."""
    Patient = apps.get_model("patients", "Patient")
    UnitPatient = apps.get_model("patients", "UnitPatient")
    Course = apps.get_model("patients", "Course")
    national_ids = Patient.objects.values_list("national_id", flat=True).distinct()
    for national_id in list(national_ids):
        records = list(Patient.objects.filter(national_id=national_id).order_by("created_at"))
        keep = records[0]
        for record in records:
            UnitPatient.objects.get_or_create(
                patient=keep,
                unit_id=record.unit_id,
                defaults={"registered_by": record.registered_by},
            )
            if record.pk != keep.pk:
                Course.objects.filter(patient=record).update(patient=keep)
                record.delete()


class Migration(migrations.Migration):
    dependencies = [("patients", "0002_patient_unit_and_registered_by")]

    operations = [migrations.RunPython(split_shared_records, merge_records)]
