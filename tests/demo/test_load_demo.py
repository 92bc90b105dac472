"""The demo data set: every state present, and loading twice changes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, F
from django.test import override_settings

from nnrr.accounts.models import Membership, Role
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires.models import FormStatus, Response
from nnrr.scheduling.models import Order, OrderState


@pytest.fixture
def loaded(db: Any, tmp_path: Any, settings: Any) -> str:
    settings.OUTBOX_DIR = tmp_path
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


# Loads the whole demo (about a minute): `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_demo_has_every_role_and_patients_in_every_state(loaded: str) -> None:
    roles = set(Membership.objects.values_list("role", flat=True))
    assert roles == set(Role.values)
    egil = Membership.objects.filter(user__identities__subject="24019491117")
    assert set(egil.values_list("role", "unit_id")) == {
        (Role.PASIENTANSVARLIG, 104293),
        (Role.LOKAL_REGISTERANSVARLIG, 104293),
        (Role.PASIENTANSVARLIG, 102959),
    }
    # About fifty patients, with courses in every state.
    assert 45 <= Patient.objects.count() <= 60
    # Every course hangs on its own unit's record of the person.
    assert not Course.objects.exclude(patient__unit=F("unit")).exists()
    states = set(Order.objects.values_list("state", flat=True))
    assert {OrderState.PLANNED, OrderState.SENT, OrderState.ANSWERED} <= states
    assert Response.objects.filter(kind="1b", status=FormStatus.FERDIGSTILT).exists()
    assert Response.objects.filter(kind="1b", status=FormStatus.KLADD).exists()
    assert Response.objects.filter(kind="2", status=FormStatus.FERDIGSTILT).exists()
    assert Course.objects.filter(status=Course.Status.PURGED).exists()
    assert ConsentLogEntry.objects.exists()
    completed = Response.objects.filter(kind="1a", status=FormStatus.FERDIGSTILT).first()
    assert completed is not None and completed.scores["OdiScore"] is not None
    # One person is known at both units: two records, one per unit.
    shared = (
        Patient.objects.values("national_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by("national_id")
        .first()
    )
    assert shared is not None
    assert set(
        Patient.objects.filter(national_id=shared["national_id"]).values_list("unit_id", flat=True)
    ) == {104293, 102959}


# Loads the whole demo twice: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_loading_twice_changes_nothing(loaded: str) -> None:
    counts = (
        Patient.objects.count(),
        Course.objects.count(),
        Response.objects.count(),
        Order.objects.count(),
        Membership.objects.count(),
    )
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "nothing changed" in out.getvalue()
    assert counts == (
        Patient.objects.count(),
        Course.objects.count(),
        Response.objects.count(),
        Order.objects.count(),
        Membership.objects.count(),
    )


@override_settings(DEMO=False)
def test_demo_data_is_refused_outside_demo_mode(db: Any) -> None:
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=io.StringIO())
