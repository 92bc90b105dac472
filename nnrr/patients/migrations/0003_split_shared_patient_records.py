"""Carry today's shared patient rows over to one record per unit.

For a person registered at several units, the unit that registered them first keeps the row;
every other unit gets its own copy (same identity and contact data as on record) and that unit's
courses move to the copy. Audit events keep pointing at the row they were written for (audit
rows are never changed). A row no unit has registered and no course uses is unreachable and is
removed.
"""

import uuid

from django.db import migrations
from django.db.models import F, OuterRef, Subquery


def split_shared_records(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    UnitPatient = apps.get_model("patients", "UnitPatient")
    Course = apps.get_model("patients", "Course")
    # Most people are known at one unit: one statement gives each row its first unit.
    first_link = UnitPatient.objects.filter(patient=OuterRef("pk")).order_by("registered_at", "pk")
    Patient.objects.filter(unit__isnull=True).update(
        unit_id=Subquery(first_link.values("unit_id")[:1]),
        registered_by_id=Subquery(first_link.values("registered_by_id")[:1]),
    )
    # A row with courses but no registration (old data): the unit of its first course.
    first_course = Course.objects.filter(patient=OuterRef("pk")).order_by("created_at", "pk")
    Patient.objects.filter(unit__isnull=True).update(
        unit_id=Subquery(first_course.values("unit_id")[:1]),
        registered_by_id=Subquery(first_course.values("created_by_id")[:1]),
    )
    Patient.objects.filter(unit__isnull=True).delete()  # unreachable: no unit, no course
    shared = set(
        UnitPatient.objects.exclude(unit_id=F("patient__unit_id")).values_list(
            "patient_id", flat=True
        )
    ) | set(
        Course.objects.exclude(unit_id=F("patient__unit_id")).values_list("patient_id", flat=True)
    )
    for pk in sorted(shared):
        patient = Patient.objects.get(pk=pk)
        others: list[tuple[int, int | None, object]] = []
        seen = {patient.unit_id}
        for link in UnitPatient.objects.filter(patient=patient).order_by("registered_at", "pk"):
            if link.unit_id not in seen:
                seen.add(link.unit_id)
                others.append((link.unit_id, link.registered_by_id, link.registered_at))
        for course in Course.objects.filter(patient=patient).order_by("created_at", "pk"):
            if course.unit_id not in seen:
                seen.add(course.unit_id)
                others.append((course.unit_id, course.created_by_id, course.created_at))
        for unit_id, registered_by, registered_at in others:
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
