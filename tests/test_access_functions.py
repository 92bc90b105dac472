"""The access function for the consent log, which used to query its model directly
(docs/decisions/0003). The audit log's are in nnrr/audit/access.py."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from nnrr import access
from nnrr.accounts.profiles import Profile
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
