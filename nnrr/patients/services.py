"""Patient registration."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F

from nnrr.accounts.models import Unit, User
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.national_id import parse_national_id
from nnrr.patients.models import Course, Patient, UnitPatient


def register_patient(
    *, actor: Actor, unit: Unit, national_id: str, name: str, email: str = "", mobile: str = ""
) -> Patient:
    """Register a patient at ``unit``; a person already known elsewhere is linked, not duplicated.

    Birth date and sex are derived from the national id. A person known at another unit keeps the
    name on record; contact details are only filled in where none are on record.
    """
    parsed = parse_national_id(national_id)
    with transaction.atomic():
        patient, created = Patient.objects.select_for_update().get_or_create(
            national_id=parsed.value,
            defaults={
                "id_kind": parsed.kind,
                "name": name.strip(),
                "birth_date": parsed.birth_date,
                "sex": parsed.sex,
                "email": email.strip(),
                "mobile": mobile.strip(),
            },
        )
        if not created:
            changed: list[str] = []
            if email and not patient.email:
                patient.email, changed = email.strip(), [*changed, "email"]
            if mobile and not patient.mobile:
                patient.mobile, changed = mobile.strip(), [*changed, "mobile"]
            if changed:
                patient.save(update_fields=[*changed, "updated_at"])
        _link, linked = UnitPatient.objects.get_or_create(
            patient=patient, unit=unit, defaults={"registered_by": actor.user}
        )
        if linked:
            record_event(
                actor=actor,
                action="nnrr.patient.registered",
                patient_id=patient.pk,
                obj=patient,
                detail={"new_person": created},
            )
    return patient


def update_contact(*, actor: Actor, patient: Patient, email: str, mobile: str) -> Patient:
    """Change where notices to the patient go (e-mail, mobile)."""
    with transaction.atomic():
        patient.email, patient.mobile = email.strip(), mobile.strip()
        patient.save(update_fields=["email", "mobile", "updated_at"])
        record_event(
            actor=actor,
            action="nnrr.patient.contact_changed",
            patient_id=patient.pk,
            obj=patient,
            detail={"fields": ["email", "mobile"]},
        )
    return patient


def change_owner(*, actor: Actor, course: Course, owner: User) -> Course:
    """ "Endre eier": the Behandlerskjema moves to ``owner``'s "Mine uferdige skjema"."""
    with transaction.atomic():
        previous = course.owner_id
        Course.objects.filter(pk=course.pk).update(owner=owner, version=F("version") + 1)
        course.owner = owner
        course.refresh_from_db(fields=["version"])
        record_event(
            actor=actor,
            action="nnrr.course.owner_changed",
            patient_id=course.patient_id,
            obj=course,
            detail={"from_user": previous, "to_user": owner.pk},
        )
    return course
