"""FHIR R4 ``Appointment`` read into the same :class:`AppointmentEvent` as an SIU message.

Mapping (docs/integration.md): ``status`` booked / cancelled / noshow (also entered-in-error as
cancelled); ``start``; the participant whose actor is a Patient, identified by the fødselsnummer
(system ``urn:oid:2.16.578.1.12.4.1.4.1``, D-number ``…4.2``); ``basedOn`` the referral: a
contained ServiceRequest's ``authoredOn`` (or the reference's ``extension`` is not read); the
Practitioner participant's identifier is the clinician; ``appointmentType`` and
``serviceType`` codes for the unit's filter; ``meta.lastUpdated`` orders the events of one
appointment. The unit is the authenticated client's, never read from the resource.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_noop

from nnrr.accounts.models import Unit
from nnrr.appointments.hl7feed import Parsed
from nnrr.appointments.models import EventKind
from nnrr.appointments.services import AppointmentEvent
from nnrr.lib.dates import OSLO, oslo_date
from nnrr.lib.national_id import NationalIdError, parse_national_id

ID_SYSTEMS = {"urn:oid:2.16.578.1.12.4.1.4.1", "urn:oid:2.16.578.1.12.4.1.4.2"}
STATUSES = {
    "booked": EventKind.BOOK,
    "arrived": EventKind.BOOK,
    "fulfilled": EventKind.BOOK,
    "checked-in": EventKind.BOOK,
    "cancelled": EventKind.CANCEL,
    "entered-in-error": EventKind.CANCEL,
    "noshow": EventKind.NO_SHOW,
}


def _moment(raw: object) -> dt.datetime | None:
    if not isinstance(raw, str) or not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None:
        day = parse_date(raw)
        if day is None:
            raise ValueError(raw)
        moment = dt.datetime.combine(day, dt.time(), tzinfo=OSLO)
    return moment if moment.tzinfo else moment.replace(tzinfo=OSLO)


def _codes(concepts: object) -> list[str]:
    found = []
    for concept in concepts if isinstance(concepts, list) else [concepts]:
        if isinstance(concept, dict):
            found += [str(c.get("code")) for c in concept.get("coding", []) if c.get("code")]
    return found


def _reference_type(participant: dict[str, Any]) -> str:
    actor = participant.get("actor") or {}
    if actor.get("type"):
        return str(actor["type"])
    return str(actor.get("reference", "")).split("/", 1)[0]


def _identifier(participant: dict[str, Any], systems: set[str] | None = None) -> str:
    identifier = (participant.get("actor") or {}).get("identifier") or {}
    if systems is not None and identifier.get("system") not in systems:
        return ""
    return str(identifier.get("value", "")).strip()


def _referral(resource: dict[str, Any]) -> dt.datetime | None:
    contained = {
        f"#{item.get('id')}": item
        for item in resource.get("contained", [])
        if isinstance(item, dict) and item.get("resourceType") == "ServiceRequest"
    }
    for reference in resource.get("basedOn", []) or []:
        request = contained.get(str((reference or {}).get("reference", "")))
        if request and request.get("authoredOn"):
            return _moment(request["authoredOn"])
    return None


def read(
    raw: str, *, unit: Unit | None, source: str, message_id: str, received_at: dt.datetime
) -> Parsed:
    """The Appointment in ``raw`` as an event of ``unit``; what is wrong in ``failure``."""
    base = Parsed(
        message=None,
        source=source,
        unit=unit,
        unit_code=str(unit.pk) if unit else "",
        message_id=message_id,
        message_type="FHIR Appointment",
    )
    try:
        resource = json.loads(raw)
    except ValueError:
        return _failed(base, gettext_noop("Innholdet er ikke gyldig JSON."))
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        return _failed(base, gettext_noop("Ressursen er ikke en FHIR Appointment."))
    status = str(resource.get("status", ""))
    if status not in STATUSES:
        return _failed(
            base,
            gettext_noop("Status %(status)s tas ikke imot (booked, cancelled, noshow).")
            % {"status": status or "–"},
        )
    participants = [p for p in resource.get("participant", []) if isinstance(p, dict)]
    patient = next((p for p in participants if _reference_type(p) == "Patient"), None)
    national_id = _identifier(patient, ID_SYSTEMS) if patient else ""
    if not national_id:
        return _failed(base, gettext_noop("Ingen deltaker er en Patient med fødselsnummer."))
    try:
        start = _moment(resource.get("start"))
        referral = _referral(resource)
        updated = _moment((resource.get("meta") or {}).get("lastUpdated"))
    except ValueError:
        return _failed(base, gettext_noop("En dato i meldingen kan ikke leses."))
    practitioner = next((p for p in participants if _reference_type(p) == "Practitioner"), None)
    event = AppointmentEvent(
        kind=STATUSES[status],
        source=source,
        appointment_id=str(resource.get("id", "")),
        message_id=message_id,
        message_time=updated or received_at,
        national_id=national_id,
        patient_name=str(((patient or {}).get("actor") or {}).get("display", "")),
        start=oslo_date(start) if start else None,
        referral_date=oslo_date(referral) if referral else None,
        clinician=_identifier(practitioner) if practitioner else "",
        appointment_types=tuple(
            _codes(resource.get("appointmentType")) + _codes(resource.get("serviceType"))
        ),
        resources=tuple(
            _identifier(p) for p in participants if _reference_type(p) not in ("Patient",)
        ),
    )
    base = replace(base, event=event)
    if not event.appointment_id:
        return _failed(base, gettext_noop("Appointment mangler id."))
    try:
        parse_national_id(national_id)
    except NationalIdError as exc:
        return _failed(
            base,
            gettext_noop("Ugyldig fødselsnummer: %(reason)s") % {"reason": " ".join(exc.messages)},
        )
    if event.kind == EventKind.BOOK and start is None:
        return _failed(base, gettext_noop("Appointment mangler start."))
    return base


def _failed(parsed: Parsed, failure: str) -> Parsed:
    return replace(parsed, failure=failure, ack="AE")
