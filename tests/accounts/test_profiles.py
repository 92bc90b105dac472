"""The active profile: who is the national secretariat, the profile kept in the session, and
which memberships work today."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.models import Role, Unit
from nnrr.accounts.profiles import (
    PROFILE_SESSION_KEY,
    ROLE_RIGHTS,
    Profile,
    Right,
    active_memberships,
)
from nnrr.lib.dates import today_oslo
from tests.conftest import login

pytestmark = pytest.mark.django_db


def today() -> dt.date:
    return today_oslo(timezone.now())


def test_a_session_membership_id_of_another_user_is_refused(persona: Any) -> None:
    clinician, other = persona("clinician"), persona("haukeland_clinician")
    client = login(Client(), clinician)
    session = client.session
    session[PROFILE_SESSION_KEY] = other.membership.pk
    session.save()
    response = client.get(reverse("patients:front"))
    assert response.status_code == 302
    assert reverse("accounts:choose_profile") in response["Location"]


def test_the_own_membership_in_the_session_is_the_profile(persona: Any) -> None:
    client = login(Client(), persona("clinician"))
    response = client.get(reverse("patients:front"))
    assert response.status_code == 200
    assert "St. Olavs" in response.content.decode()


def test_a_membership_ending_today_works_all_of_today(persona: Any) -> None:
    clinician = persona("clinician")
    clinician.membership.valid_until = today()
    clinician.membership.save()
    assert active_memberships().filter(pk=clinician.membership.pk).exists()
    assert login(Client(), clinician).get(reverse("patients:front")).status_code == 200


def test_a_membership_that_ended_yesterday_works_no_more(persona: Any) -> None:
    clinician = persona("clinician")
    clinician.membership.valid_until = today() - dt.timedelta(days=1)
    clinician.membership.save()
    assert not active_memberships().filter(pk=clinician.membership.pk).exists()
    response = login(Client(), clinician).get(reverse("patients:front"))
    assert response.status_code == 302


def test_a_membership_ends_at_midnight_in_norway_not_at_midnight_utc(
    persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 23:30 UTC on 15 January it is 00:30 on the 16th in Oslo: a role whose last day was
    the 15th works no more, one whose last day is the 16th does."""
    monkeypatch.setattr(
        "django.utils.timezone.now", lambda: dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC)
    )
    membership = persona("clinician").membership
    membership.valid_until = dt.date(2026, 1, 15)
    membership.save()
    assert not active_memberships().filter(pk=membership.pk).exists()
    membership.valid_until = dt.date(2026, 1, 16)
    membership.save()
    assert active_memberships().filter(pk=membership.pk).exists()


def test_a_membership_at_a_deactivated_unit_works_no_more(persona: Any) -> None:
    clinician = persona("clinician")
    Unit.objects.filter(pk=clinician.membership.unit_id).update(is_active=False)
    assert not active_memberships().filter(pk=clinician.membership.pk).exists()


@pytest.mark.parametrize(
    ("who", "rights"),
    [
        ("clinician", {Right.FORMS}),
        (
            "local_admin",
            {
                Right.FORMS,
                Right.RETURN_FORMS,
                Right.AUDIT_LOG,
                Right.EXPORT,
                Right.REPORTS,
                Right.MANAGE_ACCESS,
                Right.RECEIVED_APPOINTMENTS,
            },
        ),
        ("exporter", {Right.EXPORT}),
        ("report_reader", {Right.REPORTS}),
        (
            "national_admin",
            {
                Right.AUDIT_LOG,
                Right.EXPORT,
                Right.REPORTS,
                Right.ADMINISTER,
                Right.MANAGE_ACCESS,
                Right.RECEIVED_APPOINTMENTS,
            },
        ),
    ],
)
def test_each_role_has_exactly_its_rights(persona: Any, who: str, rights: set[Right]) -> None:
    from nnrr.accounts.profiles import Profile

    profile = Profile.from_membership(persona(who).membership)
    assert {right for right in Right if profile.has(right)} == rights


def test_the_profile_label_names_role_and_unit(persona: Any) -> None:
    from nnrr.accounts.profiles import Profile

    profile = Profile.from_membership(persona("local_admin").membership)
    assert profile.label == "Lokal registeransvarlig ved St. Olavs hospital HF"


def test_the_profile_carries_the_memberships_values(persona: Any) -> None:
    from nnrr.accounts.profiles import Profile

    exporter = persona("exporter")
    exporter.membership.can_export_identifiable = True
    exporter.membership.save()
    profile = Profile.from_membership(exporter.membership)
    assert profile.membership_id == exporter.membership.pk
    assert profile.user == exporter.user and profile.unit == exporter.unit
    assert profile.role == exporter.membership.role
    assert profile.can_export_identifiable is True
    assert Profile.from_membership(persona("clinician").membership).can_export_identifiable is False


def test_a_role_the_registry_does_not_know_has_no_rights(persona: Any) -> None:
    from nnrr.accounts.profiles import Profile

    clinician = persona("clinician")
    unknown = Profile(clinician.membership.pk, clinician.user, clinician.unit, "ukjent")
    assert not any(unknown.has(right) for right in Right)


def _session_profile(who: Any) -> Any:
    from django.test import RequestFactory

    from nnrr.accounts.profiles import load_profile

    request = RequestFactory().get("/")
    request.user = who.user
    request.session = {PROFILE_SESSION_KEY: who.membership.pk}  # type: ignore[assignment]
    return load_profile(request)


def test_the_loaded_profile_carries_the_memberships_values_and_the_red_dot(persona: Any) -> None:
    from nnrr.patients.models import Course
    from nnrr.questionnaires.models import FormStatus
    from tests.conftest import HAUKELAND
    from tests.reports.builders import course

    lead, clinician = persona("local_admin"), persona("clinician")
    lead.membership.can_export_identifiable = True
    lead.membership.save()
    profile = _session_profile(lead)
    assert profile.membership_id == lead.membership.pk and profile.user == lead.user
    assert profile.unit == lead.unit and profile.role == lead.membership.role
    assert profile.can_export_identifiable is True
    assert profile.worklist_waiting is False
    # A draft Behandlerskjema owned by someone else, and one of the lead's at another unit.
    other_owner = course(lead.unit.pk, "2024-05-05", clinician_status=FormStatus.KLADD)
    Course.objects.filter(pk=other_owner.pk).update(owner=clinician.user)
    other_unit = course(HAUKELAND, "2024-05-05", clinician_status=FormStatus.KLADD)
    Course.objects.filter(pk=other_unit.pk).update(owner=lead.user)
    assert _session_profile(lead).worklist_waiting is False
    assert _session_profile(clinician).worklist_waiting is True
    own = course(lead.unit.pk, "2024-05-05", clinician_status=FormStatus.KLADD)
    Course.objects.filter(pk=own.pk).update(owner=lead.user)
    assert _session_profile(lead).worklist_waiting is True


@pytest.mark.parametrize("role", list(Role.values))
def test_only_the_registry_administrator_is_national(role: str) -> None:
    profile = Profile(1, None, None, role)  # type: ignore[arg-type]
    assert profile.is_national is (role == Role.REGISTERADMINISTRATOR)


def test_national_role_is_the_one_that_administers_every_unit() -> None:
    # The reports asked "may administer", the Logg and exports "is Registeradministrator": the
    # two questions must keep the same answer for every role, or a role could see all units
    # on one page and only its own on the next.
    for role in Role.values:
        profile = Profile(1, None, None, role)  # type: ignore[arg-type]
        assert profile.is_national is (Right.ADMINISTER in ROLE_RIGHTS.get(role, frozenset()))


def test_national_profile_chooses_any_unit_on_the_report_page(as_persona: Any) -> None:
    national = as_persona("national_admin").get("/rapporter/")
    local = as_persona("local_admin").get("/rapporter/")
    assert national.status_code == local.status_code == 200
    assert 'name="enhet"' in national.content.decode()
    assert 'name="enhet"' not in local.content.decode()
