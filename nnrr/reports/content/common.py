"""What every report under "Rapporter" shares: the choices, the comparison columns, the
formatting and the page structure (the reports themselves are one module each beside this one).

The reports are aggregates per unit from the database, shown by comparison.

Every figure is a count, share or mean computed by an aggregate query grouped by unit; the
comparison columns (own unit, rest of the country, each unit, the whole country) are sums of
those per-unit aggregates. No report shows a person. A count under the small-cell limit is shown
as "<5" wherever one unit's figures are shown to another unit, and every table hides as many
further cells ("x") as it takes for no such count to be worked out from the totals beside it
(:mod:`nnrr.reports.suppression`, the one function every report, chart, page and PDF uses).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from nnrr.accounts.models import Unit
from nnrr.lib.dates import oslo_date
from nnrr.reports import charts, frame, suppression

# --- Choices and comparison columns -------------------------------------------------------------

OWN_VS_REST = "rest"
ALL_UNITS = "all"
OWN_ONLY = "own"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    unit_ids: frozenset[int]
    masked: bool  # one other unit's figures shown to this viewer: small cells become "<5"
    own: bool = False


def columns(
    comparison: str, unit: Unit, units: Sequence[Unit], viewer_sees_all: bool
) -> list[Column]:
    everyone = frozenset(u.pk for u in units)
    own = Column(str(unit.pk), unit.short_name, frozenset({unit.pk}), False, own=True)
    if comparison == OWN_ONLY:
        return [own]
    if comparison == OWN_VS_REST:
        rest = everyone - {unit.pk}
        # With two units "the rest" is one other unit: its figures are masked like that unit's.
        masked = len(rest) == 1 and not viewer_sees_all
        return [own, Column("rest", _("Resten av landet"), rest, masked)]
    result = [own]
    for other in units:
        if other.pk != unit.pk:
            result.append(
                Column(str(other.pk), other.short_name, frozenset({other.pk}), not viewer_sees_all)
            )
    result.append(Column("national", _("Hele landet"), everyone, False))
    return result


def chart_columns(cols: Sequence[Column]) -> list[Column]:
    """Charts show the own unit against the rest or the whole country (tables show every unit)."""
    if len(cols) <= 2:
        return list(cols)
    return [cols[0], cols[-1]]


# --- Formatting ---------------------------------------------------------------------------------


def decimal(value: float, places: int = 1) -> str:
    return f"{value:.{places}f}".replace(".", ",").replace("-", "−")


def percent(value: float | None, places: int = 0) -> str:
    return "–" if value is None else f"{decimal(value * 100, places)} %"


CellKey = tuple[Any, str]  # (row, column key)


def protect_columns(
    cols: Sequence[Column],
    counts: dict[CellKey, int],
    groups: Sequence[tuple[Any, Sequence[Any]]],
    small: int,
) -> suppression.Suppressed:
    """Small-cell suppression of a table whose columns are :func:`columns`.

    ``counts`` holds every count a table shows or implies, keyed by (row, column key);
    ``groups`` says which rows are sums of which in every column (a total and its categories;
    a denominator, its numerator and the rest). A column of several units (the whole country)
    is the sum of the one-unit columns it is made of, row by row. A count under ``small`` in a
    masked column is hidden, and further cells until none can be worked out; the reader's own
    unit's figures stay shown (the reader knows them anyway), so the complements are other
    units' and the whole country's cells.
    """
    rows = list(dict.fromkeys(row for row, _key in counts))
    lines: list[suppression.Line] = []
    for col in cols:
        for total, members in groups:
            lines.append(suppression.Line((total, col.key), tuple((m, col.key) for m in members)))
    singles = [c for c in cols if len(c.unit_ids) == 1]
    for col in cols:
        parts = [c for c in singles if c is not col and c.unit_ids <= col.unit_ids]
        if (
            len(col.unit_ids) > 1
            and frozenset().union(*(c.unit_ids for c in parts)) == col.unit_ids
        ):
            for row in rows:
                lines.append(suppression.Line((row, col.key), tuple((row, c.key) for c in parts)))
    masked = {c.key for c in cols if c.masked}
    own = {c.key for c in cols if c.own}  # the reader's own figures: never a complement
    totals = {total for total, _members in groups}

    def rank(key: Any) -> int:
        row, col_key = key
        return (0 if col_key in masked else 2) + (1 if row in totals else 0)

    return suppression.protect(
        values=counts,
        lines=lines,
        primary={k for k, n in counts.items() if k[1] in masked and 0 < n < small},
        small=small,
        rank=rank,
        known={k for k in counts if k[1] in own},
    )


def suppression_notes(hidden: suppression.Suppressed) -> list[str]:
    return [suppression.note(hidden.small)] if hidden.primary else []


# --- Page structure -----------------------------------------------------------------------------


@dataclass
class Table:
    caption: str
    headers: list[str]
    rows: list[tuple[str, list[str]]]


@dataclass
class Section:
    title: str
    table: Table
    chart: charts.Chart | None = None
    text: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    key: str
    title: str
    intro: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
    period: str = ""  # what period its numbers cover, as the document's cover names it


@dataclass(frozen=True)
class Choices:
    report: str
    first_year: int
    last_year: int
    comparison: str
    unit: Unit
    viewer_sees_all: bool
    # Quarterly reports: visits in these dates (inclusive) instead of the years, where the
    # report counts by visit date (patient mix, waiting time, pathways, diagnoses, scores).
    visit_from: dt.date | None = None
    visit_to: dt.date | None = None
    adjusted: bool = False  # outcome indicators also adjusted for patient mix
    # The data are read up to this day (a document's period end; None: today). A year that
    # has not ended by then is marked "ufullstendig år" wherever it is named.
    as_of: dt.date | None = None

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first_year, self.last_year + 1))

    def is_complete(self, year: int) -> bool:
        as_of = self.as_of or oslo_date(timezone.now())
        return dt.date(year, 12, 31) < as_of  # read on 31 December, the day is not over

    def year_label(self, year: int) -> str:
        """ "2025", or "2026 (ufullstendig år)" for a year not over when the data were read."""
        if self.is_complete(year):
            return str(year)
        return _("%(year)s (ufullstendig år)") % {"year": year}

    def visit_filter(self) -> Q:
        if self.visit_from and self.visit_to:
            # ISO dates compare as text in the same order as dates, on every database.
            return Q(visit_text__gte=self.visit_from.isoformat()) & Q(
                visit_text__lte=self.visit_to.isoformat()
            )
        return frame.visits_in(self.first_year, self.last_year)

    @property
    def period_label(self) -> str:
        if self.visit_from and self.visit_to:
            return f"{self.visit_from:%d.%m.%Y}–{self.visit_to:%d.%m.%Y}"
        if self.first_year == self.last_year:
            return self.year_label(self.first_year)
        return f"{self.first_year}–{self.year_label(self.last_year)}"


def band_labels() -> tuple[str, str, str, str]:
    """The legend of an indicator chart's bands, in the reader's language: below the minimum,
    between minimum and goal, below the goal (no minimum set), at or above the goal."""
    return (_("Under min."), _("Min."), _("Under mål"), pgettext("indikatorens mål", "Mål"))


def active_units() -> list[Unit]:
    return list(Unit.objects.filter(is_active=True).order_by("short_name"))


def sum_counts(per_unit: dict[int, Any], unit_ids: Iterable[int], zero: Any) -> Any:
    total = zero
    for unit_id in unit_ids:
        if unit_id in per_unit:
            total = total + per_unit[unit_id]
    return total


OTHER = "__other__"  # the categories a distribution does not list (diagnoses outside the top 20)
TOTAL = "__total__"


def distribution_section(
    title: str,
    categories: list[str],
    per_unit: dict[int, dict[str, int]],
    cols: Sequence[Column],
    small: int,
    text: str = "",
) -> Section:
    counts: dict[CellKey, int] = {}
    listed = set(categories)
    for col in cols:
        merged: dict[str, int] = defaultdict(int)
        for unit_id in col.unit_ids:
            for category, n in per_unit.get(unit_id, {}).items():
                merged[category] += n
        for category in categories:
            counts[(category, col.key)] = merged.get(category, 0)
        counts[(OTHER, col.key)] = sum(n for c, n in merged.items() if c not in listed)
        counts[(TOTAL, col.key)] = sum(merged.values())
    members = [*categories, OTHER]
    hidden = protect_columns(cols, counts, [(TOTAL, members)], small)
    rows = []
    for category in categories:
        row = []
        for col in cols:
            n = counts[(category, col.key)]
            total = counts[(TOTAL, col.key)]
            mark = hidden.mark((category, col.key))
            if mark is not None:
                row.append(mark)
            elif hidden.hidden((TOTAL, col.key)):
                row.append(str(n))  # its share would give the hidden total away
            else:
                row.append(f"{n} ({percent(n / total if total else None)})")
        rows.append((category, row))
    rows.append(
        (
            _("Totalt"),
            [hidden.mark((TOTAL, col.key)) or str(counts[(TOTAL, col.key)]) for col in cols],
        )
    )
    shown = chart_columns(cols)

    def share(category: str, col: Column) -> float | None:
        total = counts[(TOTAL, col.key)]
        if not total or hidden.hidden((category, col.key)) or hidden.hidden((TOTAL, col.key)):
            return None
        return counts[(category, col.key)] / total

    series = {col.label: [share(c, col) for c in categories] for col in shown}
    alt = f"{title}: " + "; ".join(
        f"{col.label}: "
        + ", ".join(f"{c} {percent(v)}" for c, v in zip(categories, series[col.label], strict=True))
        for col in shown
    )
    chart = charts.grouped_bars(title, categories, series, alt)
    return Section(
        title,
        Table(
            _("%(title)s: antall (andel)") % {"title": title},
            [_("Kategori"), *[col.label for col in cols]],
            rows,
        ),
        chart,
        text=text,
        notes=suppression_notes(hidden),
    )
