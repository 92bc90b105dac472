"""Patient registration."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from nnrr.accounts.models import Unit, User
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.national_id import parse_national_id
from nnrr.patients.models import Course, Patient


class UnitRecords:
    """A unit's records of a set of people, read (and locked) in one query, for work that
    registers many people in one transaction (the appointment feed's batch): given to
    :func:`register_patient`, which looks those people up here rather than one query each and
    adds the records it creates. A record another transaction creates meanwhile is not found: the
    insert fails (IntegrityError), for a caller that applies each item in a savepoint and tries
    it again later."""

    def __init__(self, *, unit: Unit, national_ids: Iterable[str]) -> None:
        self.unit = unit
        self.read = set(national_ids)
        self.records = {
            patient.national_id: patient
            for patient in Patient.objects.select_for_update().filter(
                unit=unit, national_id__in=self.read
            )
        }


def register_patient(
    *,
    actor: Actor,
    unit: Unit,
    national_id: str,
    name: str,
    email: str = "",
    mobile: str = "",
    known: UnitRecords | None = None,
) -> Patient:
    """Register a patient at ``unit``: the unit's own record of the person.

    Birth date and sex are derived from the national id. A person already registered at this
    unit keeps the record (contact details are only filled in where none are on record). Records
    the person may have at other units are neither read nor changed: registering a known number
    at a second unit creates that unit's record from what this unit enters, and nothing about the
    other record (not even that it exists) reaches the caller or this unit's audit trail.
    ``known``: the unit's records of this person among others, already read (:class:`UnitRecords`).
    """
    parsed = parse_national_id(national_id)
    new_record = {
        "id_kind": parsed.kind,
        "name": name.strip(),
        "birth_date": parsed.birth_date,
        "sex": parsed.sex,
        "email": email.strip(),
        "mobile": mobile.strip(),
        "registered_by": actor.user,
    }
    # No savepoint inside a caller's transaction (the appointment feed's): a failure here undoes
    # the caller's work too, as it would anyway.
    with transaction.atomic(savepoint=False):
        if known is not None and known.unit == unit and parsed.value in known.read:
            found = known.records.get(parsed.value)
            created = found is None
            patient = found or Patient.objects.create(
                unit=unit, national_id=parsed.value, **new_record
            )
            known.records[parsed.value] = patient
        else:
            patient, created = Patient.objects.select_for_update().get_or_create(
                unit=unit, national_id=parsed.value, defaults=new_record
            )
        changed: list[str] = []
        if not created:
            if email and not patient.email:
                patient.email, changed = email.strip(), [*changed, "email"]
            if mobile and not patient.mobile:
                patient.mobile, changed = mobile.strip(), [*changed, "mobile"]
            if changed:
                patient.save(update_fields=[*changed, "updated_at"])
        record_event(
            actor=actor,
            action="nnrr.patient.registered",
            patient_id=patient.pk,
            obj=patient,
            # Only about this unit's record: never whether the person is known elsewhere.
            detail={"already_registered": not created, "contact_filled": changed},
        )
    return patient


def update_contact(*, actor: Actor, patient: Patient, email: str, mobile: str) -> Patient:
    """Change where this unit's notices to the patient go (e-mail, mobile). Only the unit's own
    record changes: another unit's invitations keep going where that unit said."""
    with transaction.atomic():
        patient.email, patient.mobile = email.strip(), mobile.strip()
        Patient.objects.filter(pk=patient.pk).update(
            email=patient.email, mobile=patient.mobile, updated_at=timezone.now()
        )
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
