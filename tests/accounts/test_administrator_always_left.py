"""No change leaves the registry without a working Registeradministrator on any day from now on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.administrators import FOREVER, covered_until
from nnrr.accounts.models import Membership, Role, Unit, User
from nnrr.accounts.profiles import Profile
from nnrr.administration import services as access_admin
from nnrr.audit.context import Actor
from nnrr.lib.dates import today_oslo
from tests.administration.test_access_management import logged_in_without_profile
from tests.conftest import HAUKELAND, UNN_TROMSO


def _today() -> dt.date:
    return today_oslo(timezone.now())


@pytest.fixture
def two(persona: Any) -> tuple[Any, Membership]:
    """Siri (the national_admin persona) and a second Registeradministrator, Rolf."""
    first = persona("national_admin")
    rolf = User.objects.create(username="rolf", full_name="Rolf Reg")
    second = Membership.objects.create(
        user=rolf, unit_id=HAUKELAND, role=Role.REGISTERADMINISTRATOR
    )
    return first, second


def _refused_change(first: Any, membership: Membership, valid_until: dt.date | None) -> str:
    with pytest.raises(access_admin.Refused) as refused:
        access_admin.change(
            Profile.from_membership(first.membership),
            first.actor,
            membership,
            valid_until=valid_until,
        )
    return str(refused.value)


def test_an_administrator_cannot_end_the_other_one_today_when_she_has_an_end_date(
    two: tuple[Any, Membership],
) -> None:
    first, second = two
    Membership.objects.filter(pk=first.membership.pk).update(
        valid_until=_today() + dt.timedelta(30)
    )

    message = _refused_change(first, second, _today())

    tomorrow = _today() + dt.timedelta(days=1)
    assert "ingen hatt rollen Registeradministrator" in message
    # The first day without one is Siri's last day + 1, named in the message.
    assert (_today() + dt.timedelta(31)).strftime("%d.%m.%Y") in message
    assert tomorrow.strftime("%d.%m.%Y") not in message
    second.refresh_from_db()
    assert second.valid_until is None  # nothing was changed


def test_two_administrators_cannot_end_each_other_now(two: tuple[Any, Membership]) -> None:
    first, second = two
    access_admin.end_now(
        Profile.from_membership(first.membership), first.actor, second
    )  # Siri remains: allowed
    second.refresh_from_db()
    assert second.valid_until == _today() - dt.timedelta(days=1)

    again = Membership.objects.create(
        user=second.user, unit_id=UNN_TROMSO, role=Role.REGISTERADMINISTRATOR, valid_until=_today()
    )
    rolf = Profile.from_membership(again)
    # Rolf's last day is today: ending Siri now leaves nobody from tomorrow.
    with pytest.raises(access_admin.Refused, match="ingen hatt rollen"):
        access_admin.end_now(rolf, Actor.system("test"), first.membership)
    first.membership.refresh_from_db()
    assert first.membership.valid_until is None


def test_the_last_administrator_without_an_end_date_cannot_be_given_one(
    two: tuple[Any, Membership],
) -> None:
    first, second = two
    access_admin.change(
        Profile.from_membership(first.membership),
        first.actor,
        second,
        valid_until=_today() + dt.timedelta(days=365),
    )  # Siri has no end date: allowed
    rolf = Profile.from_membership(second)
    with pytest.raises(access_admin.Refused):
        access_admin.change(
            rolf, Actor.system("test"), first.membership, valid_until=_today() + dt.timedelta(400)
        )
    assert covered_until(_today()) == FOREVER


def test_a_change_that_does_not_shorten_an_existing_gap_is_allowed(
    two: tuple[Any, Membership],
) -> None:
    first, second = two
    Membership.objects.filter(pk=first.membership.pk).update(valid_until=_today() + dt.timedelta(9))
    Membership.objects.filter(pk=second.pk).update(valid_until=_today() + dt.timedelta(5))
    second.refresh_from_db()
    # Moving Rolf's end date further out makes the registry safer, though not safe.
    access_admin.change(
        Profile.from_membership(first.membership),
        first.actor,
        second,
        valid_until=_today() + dt.timedelta(60),
    )
    second.refresh_from_db()
    assert second.valid_until == _today() + dt.timedelta(60)


def test_the_unit_of_the_only_administrator_without_an_end_date_cannot_be_deactivated(
    two: tuple[Any, Membership],
) -> None:
    first, _second = two
    Membership.objects.filter(pk=first.membership.pk).update(valid_until=_today())
    unit = Unit.objects.get(pk=HAUKELAND)
    with pytest.raises(access_admin.Refused, match="ingen hatt rollen"):
        access_admin.save_unit(
            Profile.from_membership(first.membership),
            first.actor,
            unit,
            name=unit.name,
            short_name=unit.short_name,
            organisation_number=unit.organisation_number,
            is_active=False,
        )
    assert Unit.objects.get(pk=HAUKELAND).is_active


def test_the_administration_page_says_why_ending_the_last_administrator_is_refused(
    two: tuple[Any, Membership], as_persona: Any
) -> None:
    first, second = two
    Membership.objects.filter(pk=first.membership.pk).update(valid_until=_today())
    client = as_persona("national_admin")
    page = client.post(
        reverse("accounts:membership", args=[second.pk]), {"action": "end"}, follow=True
    ).content.decode()
    assert "ingen hatt rollen Registeradministrator" in page
    second.refresh_from_db()
    assert second.valid_until is None


def test_the_operator_admin_cannot_remove_the_last_administrators_role(
    two: tuple[Any, Membership],
) -> None:
    first, second = two
    Membership.objects.filter(pk=first.membership.pk).update(valid_until=_today())
    operator = User.objects.create(
        username="operator", full_name="Drift", is_staff=True, is_superuser=True
    )
    client = logged_in_without_profile(operator)
    response = client.post(
        reverse("admin:accounts_user_delete", args=[second.user_id]),
        {"post": "yes"},
        follow=True,
    )
    assert "ingen hatt rollen Registeradministrator" in response.content.decode()
    assert User.objects.filter(pk=second.user_id).exists()
