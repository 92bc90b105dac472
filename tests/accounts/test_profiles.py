"""The active profile's rules: who is the national secretariat."""

from __future__ import annotations

from typing import Any

import pytest

from nnrr.accounts.models import Role
from nnrr.accounts.profiles import ROLE_RIGHTS, Profile, Right


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
