"""6. Anbefalte behandlingsforløp: the recommended treatment pathways."""

from __future__ import annotations

from django.db.models import (
    Count,
    Q,
)
from django.utils.translation import gettext as _

from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.reports import charts, frame
from nnrr.reports import config as report_config
from nnrr.reports.content.common import (
    TOTAL,
    CellKey,
    Choices,
    Report,
    Section,
    Table,
    active_units,
    chart_columns,
    columns,
    percent,
    protect_columns,
    suppression_notes,
)
from nnrr.reports.frame import CLINICIAN, number

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
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
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
                notes=suppression_notes(hidden),
            )
        ],
    )
