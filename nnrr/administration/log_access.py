"""What the Logg and the innsyn list may show to the active profile.

The Lokal registeransvarlig sees the events of their own unit and the identity (name and
fødselsnummer) of their own unit's patients; the Registeradministrator sees every unit. Other
roles are refused before anything is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.models import AuditEvent

if TYPE_CHECKING:
    from nnrr.patients.models import Patient


def require_log_reader(request: HttpRequest) -> Profile:
    profile: Profile | None = getattr(request, "profile", None)
    if profile is None or not profile.has(Right.AUDIT_LOG):
        raise PermissionDenied(_("Din rolle gir ikke tilgang til loggen."))
    return profile


def events_for(profile: Profile) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.all()
    if not profile.is_national:
        events = events.filter(unit_id=profile.unit.pk)
    return events


def _patients(profile: Profile) -> QuerySet[Patient]:
    """The records whose identity the profile may see: its unit's, every unit's for a national
    profile (the profile's unit scope, nnrr.lib.scopes)."""
    from nnrr.access import patients_of_unit

    return patients_of_unit(profile)


def patient_ids_for_number(profile: Profile, national_id: str) -> list[uuid.UUID]:
    """Every patient record with this fødselsnummer that the profile may look up (a national
    administrator: at every unit)."""
    return list(_patients(profile).filter(national_id=national_id).values_list("pk", flat=True))


def visible_patients(profile: Profile, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Patient]:
    """Name and fødselsnummer of those of ``ids`` the profile may see."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {
        p.pk: p for p in _patients(profile).filter(pk__in=wanted).only("id", "name", "national_id")
    }
