"""Unit scopes: which units' patient data a query may see (docs/decisions/0024).

Every model holding patient data (patients, courses, forms, orders, the outbox, the worklists'
markers, received appointment messages) has a :class:`ScopedManager` as its default manager. It
builds no queryset unless a scope is active, and filters every queryset it builds to the scope's
units:

- ``with unit_scope(profile):`` the profile's unit, or every unit for a national profile
  (``Profile.is_national``); ``with unit_scope(units=[…]):`` those units (a machine client's
  unit, the unit of a message being applied, a patient's order in the portal);
- ``with unscoped("why"):`` every unit, for the system's own work across units (the dispatch
  worker, the purge, the appointment processor, the reports' counts, the demo loader). The
  reason is required; every use is listed in ``tests/test_scopes.py``, which fails on a new one
  until it is reviewed and added there.

A unit scope opened inside another only narrows it (the units both allow), so code running in a
unit's request cannot widen its view by opening another unit's scope; only ``unscoped`` can.
Both work as decorators too (``@unscoped("why")``). Do not open one around a ``yield``: a
generator's scope would stay active in its consumer while it is suspended; build the queryset in
the scope and iterate it outside (the filter is part of the queryset).

A request with an active profile runs in that profile's scope (``nnrr.accounts.middleware``); any
other request starts with none, so the portal and the FHIR API open the scope of the order or the
machine client they serve. A query on a patient-data model with no scope raises
:class:`ScopeRequired` instead of returning every unit's rows.

The scope is applied when the queryset is built (``Model.objects…``, a reverse relation such as
``course.responses``, ``get_object_or_404``, a form's unique check), so a queryset keeps the
filter it was built with wherever it is evaluated. ``Model._base_manager`` stays Django's plain
manager: following a foreign key from a row already in hand (``response.course``), saving,
``refresh_from_db`` and the cascades of a delete do not look for a scope.

This module is plain Python over Django's ORM (layer 0): it knows a profile only as something with
``is_national`` and ``unit.pk``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from django.db import models

_M = TypeVar("_M", bound=models.Model)


class ScopeRequired(RuntimeError):
    """A patient-data model was queried with no unit scope active."""


class _Unit(Protocol):
    @property
    def pk(self) -> Any: ...


class ScopedProfile(Protocol):
    """What a scope needs of ``nnrr.accounts.profiles.Profile``."""

    @property
    def unit(self) -> _Unit: ...

    @property
    def is_national(self) -> bool: ...


@dataclass(frozen=True)
class Scope:
    """The units whose rows are visible (``None``: every unit), and why this scope was opened."""

    units: frozenset[int] | None
    reason: str

    @property
    def is_unscoped(self) -> bool:
        return self.units is None


_current: ContextVar[Scope | None] = ContextVar("nnrr_unit_scope", default=None)


def current_scope() -> Scope | None:
    return _current.get()


@contextmanager
def _activate(scope: Scope | None) -> Iterator[Scope | None]:
    token = _current.set(scope)
    try:
        yield scope
    finally:
        _current.reset(token)


def profile_scope(profile: ScopedProfile) -> Scope:
    """The scope of an active profile: its own unit, or every unit for a national one."""
    if profile.is_national:
        return Scope(units=None, reason="national profile")
    return Scope(units=frozenset({int(profile.unit.pk)}), reason="profile")


@contextmanager
def unit_scope(
    profile: ScopedProfile | None = None, *, units: Iterable[int] | None = None
) -> Iterator[Scope | None]:
    """Queries see the profile's unit (every unit for a national profile), or ``units``; inside
    another unit scope, only the units both allow."""
    if (profile is None) == (units is None):
        raise TypeError("unit_scope() takes a profile or units=, not both")
    if profile is not None:
        scope = profile_scope(profile)
    else:
        assert units is not None
        scope = Scope(units=frozenset(int(unit) for unit in units), reason="units")
    outer = _current.get()
    if outer is not None and outer.units is not None:
        # A scope only narrows the one around it: a unit's request reaches another unit's rows
        # through nothing but an explicit unscoped(reason).
        narrowed = outer.units if scope.units is None else scope.units & outer.units
        scope = Scope(units=narrowed, reason=scope.reason)
    with _activate(scope) as active:
        yield active


@contextmanager
def unscoped(reason: str) -> Iterator[Scope | None]:
    """Queries see every unit: the system's own work across units, never a user's request."""
    if not reason.strip():
        raise ValueError("unscoped() needs the reason the work spans every unit")
    with _activate(Scope(units=None, reason=reason)) as active:
        yield active


@contextmanager
def no_scope() -> Iterator[None]:
    """No scope at all (each request starts so): a patient-data query raises until one opens."""
    with _activate(None):
        yield None


def restrict(queryset: models.QuerySet[_M], unit_path: str) -> models.QuerySet[_M]:
    """``queryset`` narrowed to the active scope's units, reached from the row by ``unit_path``
    (``"unit"``, ``"course__unit"``). Raises :class:`ScopeRequired` when no scope is active."""
    scope = _current.get()
    if scope is None:
        raise ScopeRequired(
            f"{queryset.model.__name__} holds patient data: query it inside "
            "unit_scope(profile), unit_scope(units=[…]) or unscoped(reason) (nnrr.lib.scopes)"
        )
    if scope.units is None:
        return queryset
    if len(scope.units) == 1:
        (unit,) = scope.units
        return queryset.filter(**{unit_path: unit})
    return queryset.filter(**{f"{unit_path}__in": sorted(scope.units)})


class ScopedManager(models.Manager[_M]):
    """The default manager of a patient-data model: every queryset it builds is the active
    scope's. The model names the way from its rows to their unit in ``unit_path``.

    Django derives the reverse relations' managers (``course.responses``, ``unit.patients``)
    from the default manager's class, so they follow the same rule."""

    def get_queryset(self) -> models.QuerySet[_M]:
        return restrict(super().get_queryset(), self.model.unit_path)  # type: ignore[attr-defined]
