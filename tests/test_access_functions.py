"""The access functions for the lists that used to query models directly: the consent log and
the audit log (docs/decisions/0003)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from nnrr import access
from nnrr.accounts.profiles import Profile
from nnrr.audit.services import record_event
from nnrr.scheduling import services as scheduling
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient


def profile(persona: Any, key: str) -> Profile:
    return Profile.from_membership(persona(key).membership)


def test_the_consent_log_of_a_unit_holds_only_its_own_entries(persona: Any) -> None:
    for key, unit in (("clinician", ST_OLAVS), ("haukeland_clinician", HAUKELAND)):
        who = persona(key)
        patient = make_patient(unit, name=f"Logg {unit}")
        book(who, patient)
        scheduling.withdraw_consent(
            actor=who.actor, patient=patient, reason="Nei", now=timezone.now()
        )
    mine = access.consent_log_of_unit(profile(persona, "clinician"))
    assert [entry.name for entry in mine] == [f"Logg {ST_OLAVS}"]


def test_the_audit_log_a_profile_may_read(persona: Any) -> None:
    for key in ("clinician", "haukeland_clinician"):
        who = persona(key)
        record_event(actor=who.actor, action="nnrr.test.probe")
    local = access.audit_events_visible(profile(persona, "local_admin"))
    assert set(local.filter(action="nnrr.test.probe").values_list("unit_id", flat=True)) == {
        ST_OLAVS
    }
    national = access.audit_events_visible(profile(persona, "national_admin"))
    assert set(national.filter(action="nnrr.test.probe").values_list("unit_id", flat=True)) == {
        ST_OLAVS,
        HAUKELAND,
    }
    for key in ("clinician", "exporter", "report_reader"):
        with pytest.raises(PermissionDenied):
            access.audit_events_visible(profile(persona, key))
