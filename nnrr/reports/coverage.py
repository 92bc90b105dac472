"""Coverage (dekningsgrad) figures: eligible patients per unit and half-year, with history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from nnrr.accounts.models import Role, Unit
from nnrr.accounts.profiles import Profile, Right
from nnrr.reports import frame
from nnrr.reports.models import CoverageEntry


def may_enter(profile: Profile) -> bool:
    """The Lokal registeransvarlig (own unit) and the Registeradministrator (every unit)."""
    return profile.role == Role.LOKAL_REGISTERANSVARLIG or profile.has(Right.ADMINISTER)


def last_completed_half(today: dt.date) -> tuple[int, int]:
    return (today.year, 1) if today.month >= 7 else (today.year - 1, 2)


def half_bounds(year: int, half: int) -> tuple[dt.date, dt.date]:
    return (
        (dt.date(year, 1, 1), dt.date(year, 6, 30))
        if half == 1
        else (
            dt.date(year, 7, 1),
            dt.date(year, 12, 31),
        )
    )


@dataclass(frozen=True)
class Period:
    year: int
    half: int
    current: CoverageEntry | None
    registered: int

    @property
    def label(self) -> str:
        return f"{self.half}. halvår {self.year}"

    @property
    def share(self) -> float | None:
        if self.current is None or not self.current.eligible:
            return None
        return min(self.registered, self.current.eligible) / self.current.eligible


def periods(unit: Unit, today: dt.date, years: int = 4) -> list[Period]:
    """The completed (and the current) half-years of the last ``years`` years, newest first."""
    first_year = today.year - years + 1
    newest: dict[tuple[int, int], CoverageEntry] = {}
    for entry in CoverageEntry.objects.filter(unit=unit, year__gte=first_year).order_by(
        "-entered_at", "-pk"
    ):
        newest.setdefault((entry.year, entry.half), entry)
    registered: dict[tuple[int, int], int] = {}
    rows = (
        frame.courses()
        .filter(frame.visits_in(first_year, today.year), unit=unit)
        .values("visit_year", "visit_month")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        key = (row["visit_year"], 1 if row["visit_month"] <= 6 else 2)
        registered[key] = registered.get(key, 0) + row["n"]
    result = []
    for year in range(today.year, first_year - 1, -1):
        for half in (2, 1):
            if half_bounds(year, half)[0] > today:
                continue
            result.append(
                Period(year, half, newest.get((year, half)), registered.get((year, half), 0))
            )
    return result


def missing_last_half(units: list[Unit], today: dt.date) -> list[Unit]:
    year, half = last_completed_half(today)
    reported = set(
        CoverageEntry.objects.filter(year=year, half=half, unit__in=units).values_list(
            "unit_id", flat=True
        )
    )
    return [unit for unit in units if unit.pk not in reported]
