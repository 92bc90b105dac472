"""3. Skårer før og etter behandling: mean scores at each time point."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Count,
    F,
    Sum,
)
from django.utils.translation import gettext as _

from nnrr.reports import charts, frame
from nnrr.reports import config as report_config
from nnrr.reports.content.common import (
    CellKey,
    Choices,
    Report,
    Section,
    Table,
    active_units,
    chart_columns,
    columns,
    decimal,
    protect_columns,
    suppression_notes,
)
from nnrr.reports.frame import BASELINE, SIX, TWELVE, number
from nnrr.reports.stats import Mean

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
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
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
                notes=suppression_notes(hidden),
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
