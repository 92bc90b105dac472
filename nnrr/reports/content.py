"""The reports under "Rapporter": aggregates per unit from the database, shown by comparison.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce, ExtractYear
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from nnrr.accounts.models import Unit
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.reports import adjust, charts, frame, suppression
from nnrr.reports import config as report_config
from nnrr.reports import indicators as ind
from nnrr.reports.frame import BASELINE, CLINICIAN, SIX, TWELVE, number
from nnrr.reports.stats import Mean, Share, clopper_pearson
from nnrr.scheduling.models import Order

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


def _notes(hidden: suppression.Suppressed) -> list[str]:
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

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.first_year, self.last_year + 1))

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
            return str(self.first_year)
        return f"{self.first_year}–{self.last_year}"


def _units() -> list[Unit]:
    return list(Unit.objects.filter(is_active=True).order_by("short_name"))


def _sum_counts(per_unit: dict[int, Any], unit_ids: Iterable[int], zero: Any) -> Any:
    total = zero
    for unit_id in unit_ids:
        if unit_id in per_unit:
            total = total + per_unit[unit_id]
    return total


# --- 1. Indicators ------------------------------------------------------------------------------


def indicator_report(choices: Choices) -> Report:
    cfg = report_config.load()
    units = _units()
    counted = ind.counted_cached(
        (*ind.INDICATORS, *ind.OTHER_SHARES), choices.first_year, choices.last_year
    )
    coverage = counted[ind.COVERAGE.id]
    cols = columns(choices.comparison, choices.unit, units, choices.viewer_sees_all)
    latest = choices.last_year
    sections = []
    for indicator in (*ind.INDICATORS, *ind.OTHER_SHARES):
        counts = counted[indicator.id]
        target = cfg.target(indicator.id)
        groups: list[tuple[Column, dict[int, Share], bool]] = []
        for col in cols:
            shares = {
                year: _sum_counts(
                    {u: counts.unit(u, year) for u in col.unit_ids}, col.unit_ids, Share(0, 0)
                )
                for year in choices.years
            }
            low_cov = False
            if len(col.unit_ids) == 1:
                (only,) = col.unit_ids
                cov = coverage.unit(only, latest)
                low_cov = cov.denominator > 0 and (cov.value or 0) < cfg.coverage_flag_below
            groups.append((col, shares, low_cov))

        # Units sorted by the latest year (own unit and the summary columns keep their place
        # in tables; the chart sorts all bars).
        def sort_key(item: tuple[Column, dict[int, Share], bool]) -> tuple[bool, float]:
            share = item[1][latest]
            hidden = share.denominator < cfg.min_denominator
            return (hidden, -(share.value or 0))

        ordered = sorted(groups, key=sort_key)
        bars = []
        for col, shares, low_cov in ordered:
            share = shares[latest]
            label = col.label + (" *" if low_cov else "")
            if share.denominator < cfg.min_denominator:
                bars.append(charts.Bar(label, None, note="N<30", highlight=col.own))
            else:
                low, high = share.interval or (None, None)
                bars.append(charts.Bar(label, share.value, low, high, highlight=col.own))
        adjusted_shares = (
            adjust.adjusted(indicator, latest)
            if choices.adjusted and indicator.is_outcome
            else None
        )
        rows = []
        for col, shares, low_cov in ordered:
            hidden = shares[latest].denominator < cfg.min_denominator
            cells = []
            for year in choices.years:
                share = shares[year]
                if hidden:
                    cells.append("N<30")
                elif not share.denominator:
                    cells.append("–")
                else:
                    low, high = share.interval or (0.0, 0.0)
                    cells.append(
                        f"{percent(share.value)} ({percent(low)}–{percent(high)}), "
                        f"N={share.denominator}"
                    )
            if adjusted_shares is not None:
                cells.append("N<30" if hidden else _adjusted_cell(adjusted_shares, col))
            label = col.label + (" *" if low_cov else "")
            rows.append((label, cells))
        language = (get_language() or "nb")[:2]
        title = indicator.title(language)
        description = (
            indicator.description_en
            if language == "en" and indicator.description_en
            else indicator.description_nb
        )
        goal_text = _("Mål: %(goal)s") % {"goal": percent(target.goal)} if target.goal else ""
        if target.minimum is not None:
            goal_text += ", " + _("min.: %(min)s") % {"min": percent(target.minimum)}
        alt = _("%(title)s %(year)s, andel med 95 %% konfidensintervall per gruppe. %(goal)s. ") % {
            "title": title,
            "year": latest,
            "goal": goal_text,
        } + "; ".join(
            f"{bar.label}: {'N<30' if bar.value is None else percent(bar.value)}" for bar in bars
        )
        chart = charts.indicator_chart(
            f"{title} ({latest})", bars, target.goal, target.minimum, alt
        )
        notes = []
        if choices.adjusted and indicator.is_outcome:
            notes.append(
                _(
                    "Justert andel: landets andel × observert ÷ forventet antall, der forventet "
                    "kommer fra en logistisk modell for hele landet med alder, kjønn, ODI før "
                    "behandling, smerter i minst ett år og utdanning. Figuren viser ujusterte tall."
                )
                if adjusted_shares is not None
                else _("For få forløp til å justere for pasientsammensetning dette året.")
            )
        if any(low for _c, _s, low in groups):
            notes.append(_("* Dekningsgrad < 60 %"))
        sections.append(
            Section(
                title,
                Table(
                    _("%(title)s: andel (95 %% konfidensintervall) og antall i nevneren")
                    % {"title": title},
                    [
                        _("Enhet"),
                        *[str(y) for y in choices.years],
                        *(
                            [_("%(year)s justert for pasientsammensetning") % {"year": latest}]
                            if adjusted_shares is not None
                            else []
                        ),
                    ],
                    rows,
                ),
                chart,
                text=description + (f" {goal_text}." if goal_text else ""),
                notes=notes,
            )
        )
    return Report(
        "indikatorer",
        _("Kvalitetsindikatorer"),
        _(
            "Andeler med 95 %% eksakte (Clopper–Pearson) konfidensintervall. Enheter med færre "
            "enn %(n)s i nevneren siste år vises som «N<30». Prosessindikatorer teller etter "
            "besøksår, resultatindikatorer etter oppfølgingsår (besøksdato + 6 måneder)."
        )
        % {"n": cfg.min_denominator},
        sections,
    )


def _adjusted_cell(shares: dict[int, adjust.Adjusted], col: Column) -> str:
    observed = sum(shares[u].observed for u in col.unit_ids if u in shares)
    expected = sum(shares[u].expected for u in col.unit_ids if u in shares)
    count = sum(shares[u].denominator for u in col.unit_ids if u in shares)
    total_observed = sum(a.observed for a in shares.values())
    total_count = sum(a.denominator for a in shares.values())
    if not count or expected <= 0 or not total_count:
        return "–"
    national = total_observed / total_count
    low, high = clopper_pearson(observed, count)
    scale = national * count / expected
    value = min(1.0, national * observed / expected)
    return f"{percent(value)} ({percent(min(1.0, low * scale))}–{percent(min(1.0, high * scale))})"


# --- 2. Patient mix -----------------------------------------------------------------------------


def _bands(expression: Any, bands: Sequence[tuple[str, Q]]) -> Case:
    return Case(
        *[When(condition, then=Value(label)) for label, condition in bands],
        default=Value(_("Ikke svart")),
        output_field=CharField(),
    )


def _coded(alias: str, item_id: str, form: str) -> tuple[Any, list[tuple[str, Q]]]:
    definition = get_definition(form)
    item = definition.item(item_id)
    column = f"mix_{item_id}"
    return column, [(str(code.label), Q(**{column: code.code})) for code in item.codes]


def _mix_dimensions() -> list[tuple[str, dict[str, Any], list[tuple[str, Q]]]]:
    """(title, columns to alias, [(category label, condition)]) for each patient-mix table."""
    odi = number(BASELINE, "OdiScore", "scores")
    ndi = number(BASELINE, "NdiScore", "scores")
    hscl = number(BASELINE, "HSCL10Score", "scores")
    eq5d = number(BASELINE, "Score_EQ5DL", "scores")
    education_col, education = _coded(BASELINE, "EducationLevel", FormKind.PRE_TREATMENT)
    duration_col, duration = _coded(BASELINE, "PainDurationNow", FormKind.PRE_TREATMENT)
    return [
        (
            _("Alder ved besøk"),
            {"mix_age": F("visit_year") - ExtractYear("patient__birth_date")},
            [
                (_("Under 30 år"), Q(mix_age__lt=30)),
                (_("30–39 år"), Q(mix_age__gte=30, mix_age__lt=40)),
                (_("40–49 år"), Q(mix_age__gte=40, mix_age__lt=50)),
                (_("50–59 år"), Q(mix_age__gte=50, mix_age__lt=60)),
                (_("60–69 år"), Q(mix_age__gte=60, mix_age__lt=70)),
                (_("70 år og eldre"), Q(mix_age__gte=70)),
            ],
        ),
        (
            _("Kjønn"),
            {},
            [(_("Kvinne"), Q(patient__sex="F")), (_("Mann"), Q(patient__sex="M"))],
        ),
        (
            _("Utdanning"),
            {education_col: number(BASELINE, "EducationLevel")},
            education,
        ),
        (
            _("Varighet av nåværende smerter"),
            {duration_col: number(BASELINE, "PainDurationNow")},
            duration,
        ),
        (
            _("ODI før behandling"),
            {"mix_odi": odi},
            [
                (_("0–21 minimal"), Q(mix_odi__lte=21.99)),
                (_("22–40 moderat"), Q(mix_odi__gt=21.99, mix_odi__lte=40.99)),
                (_("41–60 betydelig"), Q(mix_odi__gt=40.99, mix_odi__lte=60.99)),
                (_("Over 60 alvorlig"), Q(mix_odi__gt=60.99)),
            ],
        ),
        (
            _("NDI før behandling"),
            {"mix_ndi": ndi},
            [
                (_("0–4 ingen"), Q(mix_ndi__lte=4.99)),
                (_("5–14 lett"), Q(mix_ndi__gt=4.99, mix_ndi__lte=14.99)),
                (_("15–24 moderat"), Q(mix_ndi__gt=14.99, mix_ndi__lte=24.99)),
                (_("25–34 alvorlig"), Q(mix_ndi__gt=24.99, mix_ndi__lte=34.99)),
                (_("Over 34 komplett"), Q(mix_ndi__gt=34.99)),
            ],
        ),
        (
            _("HSCL-10 før behandling"),
            {"mix_hscl": hscl},
            [
                (_("Under 1,85"), Q(mix_hscl__lt=1.85)),
                (_("1,85 og over (betydelig plaget)"), Q(mix_hscl__gte=1.85)),
            ],
        ),
        (
            _("EQ-5D-indeks før behandling"),
            {"mix_eq5d": eq5d},
            [
                (_("Under 0,25"), Q(mix_eq5d__lt=0.25)),
                (_("0,25–0,49"), Q(mix_eq5d__gte=0.25, mix_eq5d__lt=0.5)),
                (_("0,50–0,74"), Q(mix_eq5d__gte=0.5, mix_eq5d__lt=0.75)),
                (_("0,75 og over"), Q(mix_eq5d__gte=0.75)),
            ],
        ),
    ]


OTHER = "__other__"  # the categories a distribution does not list (diagnoses outside the top 20)
TOTAL = "__total__"


def _distribution_section(
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
        notes=_notes(hidden),
    )


def patient_mix_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    base = frame.courses().filter(choices.visit_filter())
    sections = []
    for title, aliases, bands in _mix_dimensions():
        category = _bands(None, bands)
        rows = (
            base.alias(**aliases)
            .annotate(category=category)
            .values("unit_id", "category")
            .annotate(n=Count("pk"))
            .order_by()
        )
        per_unit: dict[int, dict[str, int]] = defaultdict(dict)
        for row in rows:
            per_unit[row["unit_id"]][row["category"]] = row["n"]
        labels = [label for label, _q in bands] + [_("Ikke svart")]
        sections.append(_distribution_section(title, labels, per_unit, cols, cfg.small_cell))
    return Report(
        "pasientsammensetning",
        _("Pasientsammensetning"),
        _("Forløp med besøksdato i perioden, etter svar før behandling."),
        sections,
    )


# --- 3. Scores before and after -----------------------------------------------------------------

MEASURES: tuple[tuple[str, str, str], ...] = (
    ("OdiScore", "scores", "ODI (0–100)"),
    ("NdiScore", "scores", "NDI (0–50)"),
    ("PainExperiencesNoActivity", "answers", "Smerte i hvile (NRS 0–10)"),
    ("PainExperiencesActivity", "answers", "Smerte i aktivitet (NRS 0–10)"),
    ("HSCL10Score", "scores", "HSCL-10 (1–4)"),
    ("Score_EQ5DL", "scores", "EQ-5D-5L-indeks"),
)
TIMEPOINTS = ((BASELINE, "Før behandling"), (SIX, "6 måneder"), (TWELVE, "12 måneder"))


def outcome_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    base = frame.with_follow_up(frame.courses(), twelve=True).filter(choices.visit_filter())
    aliases: dict[str, Any] = {}
    aggregates: dict[str, Any] = {}
    for m, (key, field_name, _label) in enumerate(MEASURES):
        for t, (alias, _t_label) in enumerate(TIMEPOINTS):
            name = f"v{m}_{t}"
            aliases[name] = number(alias, key, field_name)
            aggregates[f"n{m}_{t}"] = Count(name)
            aggregates[f"s{m}_{t}"] = Sum(name)
            aggregates[f"q{m}_{t}"] = Sum(F(name) * F(name))
    rows = base.alias(**aliases).values("unit_id").annotate(**aggregates).order_by()
    per_unit: dict[int, dict[str, Mean]] = {}
    for row in rows:
        per_unit[row["unit_id"]] = {
            f"{m}_{t}": Mean(
                row[f"n{m}_{t}"], float(row[f"s{m}_{t}"] or 0), float(row[f"q{m}_{t}"] or 0)
            )
            for m in range(len(MEASURES))
            for t in range(len(TIMEPOINTS))
        }
    sections = []
    for m, (_key, _field, label) in enumerate(MEASURES):
        table_rows = []
        series: dict[str, list[tuple[float, float, float] | None]] = {}
        shown = {c.key for c in chart_columns(cols)}
        means: dict[CellKey, Mean] = {}
        for col in cols:
            for t in range(len(TIMEPOINTS)):
                mean = Mean(0, 0.0, 0.0)
                for unit_id in col.unit_ids:
                    if unit_id in per_unit:
                        mean = mean + per_unit[unit_id][f"{m}_{t}"]
                means[(t, col.key)] = mean
        hidden = protect_columns(
            cols, {k: mean.count for k, mean in means.items()}, [], cfg.small_cell
        )
        for col in cols:
            cells = []
            points: list[tuple[float, float, float] | None] = []
            for t in range(len(TIMEPOINTS)):
                mean = means[(t, col.key)]
                places = 2 if "HSCL" in label or "EQ-5D" in label else 1
                mark = hidden.mark((t, col.key))
                if mark is not None:
                    cells.append(mark)
                    points.append(None)
                elif mean.value is None:
                    cells.append("–")
                    points.append(None)
                else:
                    interval = mean.interval
                    if interval:
                        cells.append(
                            f"{decimal(mean.value, places)} ({decimal(interval[0], places)}–"
                            f"{decimal(interval[1], places)}), n={mean.count}"
                        )
                        points.append((mean.value, interval[0], interval[1]))
                    else:
                        cells.append(f"{decimal(mean.value, places)}, n={mean.count}")
                        points.append((mean.value, mean.value, mean.value))
            table_rows.append((col.label, cells))
            if col.key in shown:
                series[col.label] = points
        timepoint_labels = [t_label for _a, t_label in TIMEPOINTS]
        alt = f"{label}: " + "; ".join(
            f"{name}: "
            + ", ".join(
                f"{t} {'–' if p is None else decimal(p[0])}"
                for t, p in zip(timepoint_labels, pts, strict=True)
            )
            for name, pts in series.items()
        )
        sections.append(
            Section(
                label,
                Table(
                    _("%(measure)s: gjennomsnitt (95 %% konfidensintervall) og antall svar")
                    % {"measure": label},
                    [_("Gruppe"), *timepoint_labels],
                    table_rows,
                ),
                charts.means_chart(label, timepoint_labels, series, alt),
                notes=_notes(hidden),
            )
        )
    return Report(
        "utvikling",
        _("Skårer før og etter behandling"),
        _(
            "Gjennomsnitt med 95 %% konfidensintervall (normaltilnærming) før behandling, etter 6 "
            "og etter 12 måneder, for forløp med besøksdato i perioden. Hvert tidspunkt teller de "
            "som har svart da."
        ),
        sections,
    )


# --- 4. Waiting time ----------------------------------------------------------------------------


class DaysBetween(Func):
    """Whole days from ``start`` (a date column) to ``end`` (an ISO date text)."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return (
            f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)",
            (*end_params, *start_params),
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return f"(CAST({end_sql} AS date) - {start_sql})", (*end_params, *start_params)


WAIT_BINS = (
    ("0–25", 0, 25),
    ("26–50", 26, 50),
    ("51–75", 51, 75),
    ("76–100", 76, 100),
    ("101–125", 101, 125),
    ("126–150", 126, 150),
    ("> 150", 151, None),
)


def waiting_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    target = cfg.waiting_days_target
    base = (
        frame.courses()
        .filter(choices.visit_filter())
        .alias(
            wait=DaysBetween(
                KeyTextTransform("S1b_DateOfCompletion", f"{CLINICIAN}__answers"), "referral_date"
            )
        )
    )
    bins = Case(
        *[
            When(
                Q(wait__gte=low) & (Q(wait__lte=high) if high is not None else Q()),
                then=Value(label),
            )
            for label, low, high in WAIT_BINS
        ],
        default=Value(""),
        output_field=CharField(),
    )
    per_unit: dict[int, dict[str, int]] = defaultdict(dict)
    for row in (
        base.annotate(bin=bins)
        .filter(wait__gte=0)
        .values("unit_id", "bin")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        per_unit[row["unit_id"]][row["bin"]] = row["n"]
    stats: dict[int, tuple[Share, Mean]] = {}
    for row in (
        base.filter(wait__gt=0)
        .values("unit_id")
        .annotate(
            n=Count("pk"),
            within=Count("pk", filter=Q(wait__lte=target)),
            total=Sum("wait"),
            squares=Sum(F("wait") * F("wait")),
        )
        .order_by()
    ):
        stats[row["unit_id"]] = (
            Share(row["within"], row["n"]),
            Mean(row["n"], float(row["total"] or 0), float(row["squares"] or 0)),
        )
    labels = [label for label, _low, _high in WAIT_BINS]
    distribution = _distribution_section(
        _("Ventetid i dager, fordeling"), labels, per_unit, cols, cfg.small_cell
    )
    summed: dict[str, tuple[Share, Mean]] = {}
    counts: dict[CellKey, int] = {}
    for col in cols:
        share, mean = Share(0, 0), Mean(0, 0.0, 0.0)
        for unit_id in col.unit_ids:
            if unit_id in stats:
                share = share + stats[unit_id][0]
                mean = mean + stats[unit_id][1]
        summed[col.key] = (share, mean)
        counts[("n", col.key)] = share.denominator
        counts[("within", col.key)] = share.numerator
        counts[("over", col.key)] = share.denominator - share.numerator
    hidden = protect_columns(cols, counts, [("n", ["within", "over"])], cfg.small_cell)
    summary_rows = []
    bars = []
    for col in cols:
        share, mean = summed[col.key]
        if hidden.hidden(("n", col.key)):
            summary_rows.append((col.label, [hidden.mark(("n", col.key)) or "", "", ""]))
            continue
        interval = share.interval
        mean_interval = mean.interval
        share_shown = not (hidden.hidden(("within", col.key)) or hidden.hidden(("over", col.key)))
        summary_rows.append(
            (
                col.label,
                [
                    str(share.denominator),
                    (
                        f"{percent(share.value)}"
                        + (f" ({percent(interval[0])}–{percent(interval[1])})" if interval else "")
                        if share_shown
                        else suppression.SECONDARY_MARK
                    ),
                    ("–" if mean.value is None else decimal(mean.value))
                    + (
                        f" ({decimal(mean_interval[0])}–{decimal(mean_interval[1])})"
                        if mean_interval
                        else ""
                    ),
                ],
            )
        )
        if share.denominator and share_shown:
            low, high = interval or (None, None)
            bars.append(charts.Bar(col.label, share.value, low, high, highlight=col.own))
    title = _("Andel med ventetid høyst %(days)s dager") % {"days": target}
    summary = Section(
        title,
        Table(
            title,
            [
                _("Gruppe"),
                _("Antall"),
                _("Andel ≤ %(days)s dager (95 %% KI)") % {"days": target},
                _("Gjennomsnitt dager (95 %% KI)"),
            ],
            summary_rows,
        ),
        charts.indicator_chart(
            title,
            bars,
            None,
            None,
            title + ": " + "; ".join(f"{b.label} {percent(b.value)}" for b in bars),
        ),
        text=_("Dager fra henvisningsdato til besøksdato, blant forløp med ventetid over 0 dager."),
        notes=_notes(hidden),
    )
    return Report(
        "ventetid",
        _("Ventetid fra henvisning til besøk"),
        _("Forløp med besøksdato i perioden."),
        [summary, distribution],
    )


# --- 5. Follow-up response rates -----------------------------------------------------------------


def response_report(choices: Choices) -> Report:
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    cfg = report_config.load()
    base = frame.with_follow_up(frame.courses(), twelve=True)
    sent = {
        months: Exists(
            Order.objects.filter(course=OuterRef("pk"), kind=kind, sent_at__isnull=False)
        )
        for months, kind in ((6, FormKind.FOLLOW_UP_6), (12, FormKind.FOLLOW_UP_12))
    }
    sections = []
    for months, year_expr, has, in_years in (
        (6, F("followup_year"), "has6", frame.follow_ups_in(choices.first_year, choices.last_year)),
        (
            12,
            F("visit_year") + 1,
            "has12",
            frame.visits_in(choices.first_year - 1, choices.last_year - 1),
        ),
    ):
        rows = (
            base.alias(sent=sent[months])
            .annotate(fu_year=year_expr)
            .filter(in_years, sent=True)
            .values("unit_id", "fu_year")
            .annotate(sent_n=Count("pk"), answered=Count("pk", filter=Q(**{has: 1})))
            .order_by()
        )
        per: dict[tuple[int, int], Share] = {
            (r["unit_id"], r["fu_year"]): Share(r["answered"], r["sent_n"]) for r in rows
        }
        shares: dict[tuple[int, str], Share] = {}
        counts: dict[CellKey, int] = {}
        for col in cols:
            for year in choices.years:
                share = _sum_counts(
                    {u: per.get((u, year), Share(0, 0)) for u in col.unit_ids},
                    col.unit_ids,
                    Share(0, 0),
                )
                shares[(year, col.key)] = share
                counts[((year, "sent"), col.key)] = share.denominator
                counts[((year, "answered"), col.key)] = share.numerator
                counts[((year, "unanswered"), col.key)] = share.denominator - share.numerator
        hidden = protect_columns(
            cols,
            counts,
            [((y, "sent"), [(y, "answered"), (y, "unanswered")]) for y in choices.years],
            cfg.small_cell,
        )
        table_rows = []
        bars = []
        for col in cols:
            cells = []
            for year in choices.years:
                share = shares[(year, col.key)]
                sent_mark = hidden.mark(((year, "sent"), col.key))
                answered = hidden.mark(((year, "answered"), col.key))
                unanswered = hidden.mark(((year, "unanswered"), col.key))
                if sent_mark is not None:
                    cells.append(sent_mark)
                elif answered is not None or unanswered is not None:
                    # The share would give the hidden count away: only how many were sent.
                    cells.append(
                        _("%(answered)s av %(sent)s")
                        % {
                            "answered": answered or suppression.SECONDARY_MARK,
                            "sent": share.denominator,
                        }
                    )
                elif share.denominator:
                    cells.append(
                        f"{percent(share.value)} ({share.numerator} av {share.denominator})"
                    )
                else:
                    cells.append("–")
                shown = all(m is None for m in (sent_mark, answered, unanswered))
                if year == choices.last_year and share.denominator and shown:
                    low, high = share.interval or (None, None)
                    bars.append(charts.Bar(col.label, share.value, low, high, highlight=col.own))
            table_rows.append((col.label, cells))
        title = _("Svarprosent %(months)s måneder") % {"months": months}
        sections.append(
            Section(
                title,
                Table(
                    title + " " + _("(besvarte av sendte, etter oppfølgingsår)"),
                    [_("Gruppe"), *[str(y) for y in choices.years]],
                    table_rows,
                ),
                charts.indicator_chart(
                    f"{title} ({choices.last_year})",
                    bars,
                    None,
                    None,
                    title + ": " + "; ".join(f"{b.label} {percent(b.value)}" for b in bars),
                ),
                notes=_notes(hidden),
            )
        )
    return Report(
        "svarprosent",
        _("Svarprosent på oppfølgingsskjema"),
        _(
            "Besvarte 6- og 12-månedersskjema delt på forløp der skjemaet ble sendt, etter "
            "oppfølgingsår (besøksdato + 6 eller 12 måneder)."
        ),
        sections,
    )


# --- 6. Recommended treatment pathways -----------------------------------------------------------

PATHWAY_CHECKBOXES = (
    "Treatment_NoTreatment",
    "Treatment_FollowUpMunicipality",
    "Treatment_FollowUpFysioterapeut",
    "Treatment_FollowUpKiropraktor",
    "Treatment_FollowUpPsykolog",
    "Treatment_FollowUpMunicipalityOther",
    "Treatment_FollowupOtherLifeStyle",
    "Treatment_FollowUpOperation",
    "Treatment_TreatmentOtherRehabCentre",
    "Treatment_EvaluationBySpecialist",
    "Treatment_OtherAssessment",
)
PATHWAY_CODED = (
    ("Treatment_TreatmentInSpecialistServices", 1),
    ("Treatment_IndividualMonoDiciplinary", 1),
    ("Treatment_InvidualInterdisciplinary", 1),
    ("Treatment_GroupInterdisciplinary2018", 1),
)


def _pathway_conditions() -> list[tuple[str, Q]]:
    definition = get_definition(FormKind.CLINICIAN)
    known = {item.id: item for item in definition.items()}
    result = []
    for item_id in PATHWAY_CHECKBOXES:
        if item_id in known:
            result.append(
                (str(known[item_id].label), Q(**{f"{CLINICIAN}__answers__{item_id}": True}))
            )
    for item_id, minimum in PATHWAY_CODED:
        if item_id in known:
            result.append((str(known[item_id].label), Q(**{f"pw_{item_id}__gte": minimum})))
    return result


def pathway_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    conditions = _pathway_conditions()
    aliases = {f"pw_{item_id}": number(CLINICIAN, item_id) for item_id, _m in PATHWAY_CODED}
    aggregates = {f"c{i}": Count("pk", filter=cond) for i, (_l, cond) in enumerate(conditions)}
    rows = (
        frame.courses()
        .filter(choices.visit_filter())
        .alias(**aliases)
        .values("unit_id")
        .annotate(total=Count("pk"), **aggregates)
        .order_by()
    )
    per_unit = {r["unit_id"]: r for r in rows}
    table_rows = []
    series: dict[str, list[float | None]] = {}
    shown = {c.key for c in chart_columns(cols)}
    labels = [label for label, _c in conditions]
    totals = {
        col.key: sum(per_unit.get(u, {}).get("total", 0) for u in col.unit_ids) for col in cols
    }
    counts: dict[CellKey, int] = {}
    for col in cols:
        counts[(TOTAL, col.key)] = totals[col.key]
        for i in range(len(labels)):
            n = sum(per_unit.get(u, {}).get(f"c{i}", 0) for u in col.unit_ids)
            counts[((i, "yes"), col.key)] = n
            counts[((i, "no"), col.key)] = totals[col.key] - n
    hidden = protect_columns(
        cols,
        counts,
        [(TOTAL, [(i, "yes"), (i, "no")]) for i in range(len(labels))],
        cfg.small_cell,
    )
    for i, label in enumerate(labels):
        cells = []
        for col in cols:
            n = counts[((i, "yes"), col.key)]
            total = totals[col.key]
            yes = hidden.mark(((i, "yes"), col.key))
            secret = hidden.hidden(((i, "no"), col.key)) or hidden.hidden((TOTAL, col.key))
            if yes is not None:
                cells.append(yes)
            elif secret:
                cells.append(str(n))  # its share would give a hidden count away
            else:
                cells.append(f"{n} ({percent(n / total if total else None)})")
            if col.key in shown:
                series.setdefault(col.label, []).append(
                    n / total if total and yes is None and not secret else None
                )
        table_rows.append((label, cells))
    table_rows.append(
        (
            _("Forløp totalt"),
            [hidden.mark((TOTAL, col.key)) or str(totals[col.key]) for col in cols],
        )
    )
    title = _("Anbefalt videre behandling")
    alt = (
        title
        + ": "
        + "; ".join(
            f"{name}: "
            + ", ".join(f"{lab} {percent(v)}" for lab, v in zip(labels, vals, strict=True))
            for name, vals in series.items()
        )
    )
    return Report(
        "behandling",
        _("Anbefalte behandlingsforløp"),
        _("Andel forløp med hver anbefaling i Behandlerskjema (flere kan gjelde samme forløp)."),
        [
            Section(
                title,
                Table(
                    title + ": " + _("antall (andel av forløp)"),
                    [_("Anbefaling"), *[c.label for c in cols]],
                    table_rows,
                ),
                charts.grouped_bars(title, [lab[:40] for lab in labels], series, alt),
                notes=_notes(hidden),
            )
        ],
    )


# --- 7. The 20 most common first diagnoses -------------------------------------------------------


def _diagnosis_name(code: str) -> str:
    try:
        return diagnoses.validate_code(code).name
    except (ValueError, LookupError):
        return ""


def diagnosis_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, _units(), choices.viewer_sees_all)
    rows = (
        frame.courses()
        .filter(choices.visit_filter())
        .annotate(
            code=Coalesce(
                KeyTextTransform("DiagnosticNumber1", f"{CLINICIAN}__answers"),
                Value(""),
                output_field=CharField(),
            )
        )
        .values("unit_id", "code")
        .annotate(n=Count("pk"))
        .order_by()
    )
    per_unit: dict[int, dict[str, int]] = defaultdict(dict)
    overall: dict[str, int] = defaultdict(int)
    reference = cols[0].unit_ids | (cols[-1].unit_ids if len(cols) > 1 else frozenset())
    for row in rows:
        code = row["code"] or _("Ikke oppgitt")
        per_unit[row["unit_id"]][code] = per_unit[row["unit_id"]].get(code, 0) + row["n"]
        if row["unit_id"] in reference:
            overall[code] += row["n"]
    top = sorted(overall, key=lambda c: (-overall[c], c))[:20]
    labels = [f"{code} {_diagnosis_name(code)}".strip() for code in top]
    section = _distribution_section(
        _("De 20 vanligste første diagnosene"),
        top,
        per_unit,
        cols,
        cfg.small_cell,
    )
    # Tables carry the names; the chart keeps the codes short.
    section.table.rows = [
        (labels[i] if i < len(labels) else label, cells)
        for i, (label, cells) in enumerate(section.table.rows)
    ]
    return Report(
        "diagnoser",
        _("De 20 vanligste diagnosene"),
        _(
            "Første diagnose (DiagnosticNumber1) i Behandlerskjema, antall og andel av forløp med "
            "besøksdato i perioden."
        ),
        [section],
    )


REPORTS: dict[str, tuple[str, Callable[[Choices], Report]]] = {
    "indikatorer": ("Kvalitetsindikatorer", indicator_report),
    "pasientsammensetning": ("Pasientsammensetning", patient_mix_report),
    "utvikling": ("Skårer før og etter behandling", outcome_report),
    "ventetid": ("Ventetid fra henvisning til besøk", waiting_report),
    "svarprosent": ("Svarprosent på oppfølgingsskjema", response_report),
    "behandling": ("Anbefalte behandlingsforløp", pathway_report),
    "diagnoser": ("De 20 vanligste diagnosene", diagnosis_report),
}


def build(choices: Choices) -> Report:
    return REPORTS[choices.report][1](choices)
