"""2. Pasientsammensetning: the distribution of the patients' characteristics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import (
    Case,
    CharField,
    Count,
    F,
    Q,
    Value,
    When,
)
from django.db.models.functions import ExtractYear
from django.utils.translation import gettext as _

from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind
from nnrr.reports import config as report_config
from nnrr.reports import frame
from nnrr.reports.content.common import (
    Choices,
    Report,
    active_units,
    columns,
    distribution_section,
)
from nnrr.reports.frame import BASELINE, number


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


def patient_mix_report(choices: Choices) -> Report:
    cfg = report_config.load()
    cols = columns(choices.comparison, choices.unit, active_units(), choices.viewer_sees_all)
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
        sections.append(distribution_section(title, labels, per_unit, cols, cfg.small_cell))
    return Report(
        "pasientsammensetning",
        _("Pasientsammensetning"),
        _("Forløp med besøksdato i perioden, etter svar før behandling."),
        sections,
    )
