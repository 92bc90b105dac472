"""7. De 20 vanligste diagnosene: the most common first diagnoses."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import (
    CharField,
    Count,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from nnrr.questionnaires import diagnoses
from nnrr.reports import config as report_config
from nnrr.reports import frame
from nnrr.reports.content.common import (
    Choices,
    Report,
    active_units,
    columns,
    distribution_section,
)
from nnrr.reports.frame import CLINICIAN


def _diagnosis_name(code: str) -> str:
    try:
        return diagnoses.validate_code(code).name
    except (ValueError, LookupError):
        return ""


def diagnosis_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
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
    section = distribution_section(
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
