"""The unit scopes on their own (nnrr/lib/scopes.py, docs/decisions/0024); what they do to the
patient-data models, requests and workers is in tests/test_scopes.py."""

from __future__ import annotations

from typing import Any

import pytest

from nnrr.lib.scopes import current_scope, no_scope, unit_scope, unscoped

ST_OLAVS = 104293
HAUKELAND = 102959


class _Unit:
    def __init__(self, pk: int) -> None:
        self.pk = pk


class _Profile:
    def __init__(self, unit: int, *, national: bool = False) -> None:
        self.unit = _Unit(unit)
        self.is_national = national


@pytest.mark.scoped
def test_a_unit_scope_takes_a_profile_or_units_and_unscoped_a_reason() -> None:
    with pytest.raises(TypeError), unit_scope():
        pass
    with pytest.raises(TypeError), unit_scope(_Profile(1), units=[1]):
        pass
    with pytest.raises(ValueError), unscoped("  "):
        pass
    assert current_scope() is None


@pytest.mark.scoped
def test_a_profiles_scope_is_its_unit_and_a_national_profiles_every_unit() -> None:
    with unit_scope(_Profile(ST_OLAVS)) as scope:
        assert scope is not None and scope.units == {ST_OLAVS}
    with unit_scope(_Profile(ST_OLAVS, national=True)) as scope:
        assert scope is not None and scope.units is None
    assert current_scope() is None


@pytest.mark.scoped
def test_a_scope_inside_another_only_narrows_it_and_unscoped_is_the_one_way_out() -> None:
    with unit_scope(units=[ST_OLAVS]):
        with unit_scope(units=[HAUKELAND]) as inner:
            assert inner is not None and inner.units == frozenset()
        with unit_scope(_Profile(HAUKELAND, national=True)) as inner:
            assert inner is not None and inner.units == {ST_OLAVS}
        with unscoped("a test of the way out") as inner:
            assert inner is not None and inner.units is None
        with no_scope():
            assert current_scope() is None
        scope = current_scope()
        assert scope is not None and scope.units == {ST_OLAVS}
    with unit_scope(units=[ST_OLAVS, HAUKELAND]), unit_scope(units=[HAUKELAND]) as inner:
        assert inner is not None and inner.units == {HAUKELAND}


@pytest.mark.scoped
def test_scopes_work_as_decorators_each_call_anew() -> None:
    @unit_scope(units=[HAUKELAND])
    def seen() -> Any:
        scope = current_scope()
        return scope.units if scope else None

    assert seen() == {HAUKELAND}
    assert seen() == {HAUKELAND}
    assert current_scope() is None
