"""The clinician's one-screen summary of a patient form, and the journal note made from it.

Numbers are written the way the reader's language writes them (Norwegian 2,1; English 2.1); an
instrument the patient was not asked (NDI when the neck is not the main problem) says "ikke
aktuelt", a score that could not be computed says "mangler"; pain NRS is "6/10"; the EQ-5D-5L
index names its value set; and at 6 and 12 months each main score is shown with its change from
the pre-treatment form and whether that is better or worse. The texts of this module carry both
languages, so the English note is English throughout whatever the translation catalogue holds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import get_language

from nnrr.questionnaires import body_map, scoring, wording
from nnrr.questionnaires.definitions import Definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.validation import visible_items


def _english() -> bool:
    return (get_language() or "nb")[:2] == "en"


def _t(nb: str, en: str) -> str:
    return en if _english() else nb


def number(value: float | int, decimals: int = 1) -> str:
    """A number as the reader's language writes it, without trailing zeros: 2,1 / 2.1; 30."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text if _english() else text.replace(".", ",")


# (score column, instrument, Norwegian label, English label) in the order the clinician reads them.
SCORE_ROWS: list[tuple[str, str, str, str]] = [
    ("OdiScore", "odi", "ODI (funksjon, 0–100)", "ODI (function, 0–100)"),
    ("NdiScore", "ndi", "NDI (nakkefunksjon, 0–50)", "NDI (neck function, 0–50)"),
    ("FABQScore1", "fabq", "FABQ fysisk aktivitet (0–24)", "FABQ physical activity (0–24)"),
    ("FABQScore2", "fabq", "FABQ arbeid (0–42)", "FABQ work (0–42)"),
    ("HSCL10Score", "hscl10", "HSCL-10 (psykiske plager, 1–4)", "HSCL-10 (distress, 1–4)"),
    (
        "UhiHighCount",
        "uhi",
        "Subjektive helseplager (UHI): antall av 30 plager som har plaget «en del» eller "
        "«alvorlig» siste 30 dager (nakke- og ryggsmerter ikke talt med)",
        "Subjective health complaints (UHI): number of 30 complaints rated «somewhat» or "
        "«seriously» bothersome in the last 30 days (neck and back pain not counted)",
    ),
    ("NofPainRegions", "pain", "Antall smerteområder (0–32)", "Number of pain regions (0–32)"),
    ("Score_EQ5DL", "eq5d5l", "EQ-5D-5L indeks", "EQ-5D-5L index"),
    ("Eq5d_L_spm6", "eq5d5l", "EQ-5D VAS (0–100)", "EQ-5D VAS (0–100)"),
]
_DECIMALS = {"Score_EQ5DL": 3, "HSCL10Score": 2}

# Pain NRS items, shown as "6/10".
NRS_ITEMS = ("PainExperiencesNoActivity", "PainExperiencesActivity")

# Key background answers on the summary, by item id.
KEY_ITEMS = [
    "PainDurationNow",
    "PainExperiencesNoActivity",
    "PainExperiencesActivity",
    "IsNeckPainMainProblem",
    "PainMedicinePrescription",
    "PainMedicineNoPrescription",
    "FamilyStatus",
    "EducationLevel",
    "IsEmployed",
    "Smoking",
    "PhysicalActivity",
    "ReadWriteDifficulties",
    "NationalInterpreter",
    "UseOfTreatment",
    "TreatmentSatisfaction",
]

# Change from baseline at 6 and 12 months: (column or item, label nb, label en, higher is better,
# decimals).
CHANGE_ROWS: list[tuple[str, str, str, bool, int]] = [
    ("OdiScore", "ODI", "ODI", False, 1),
    ("NdiScore", "NDI", "NDI", False, 1),
    ("PainExperiencesNoActivity", "Smerte i hvile (NRS)", "Pain at rest (NRS)", False, 0),
    ("PainExperiencesActivity", "Smerte i aktivitet (NRS)", "Pain in activity (NRS)", False, 0),
    ("Score_EQ5DL", "EQ-5D-5L indeks", "EQ-5D-5L index", True, 3),
]


@dataclass(frozen=True)
class ScoreRow:
    column: str
    label: str
    value: Any
    band: scoring.Band | None
    not_asked: bool = False

    @property
    def text(self) -> str:
        if self.not_asked:
            return _t("ikke aktuelt", "not applicable")
        if self.value is None:
            return _t("mangler", "missing")
        if isinstance(self.value, float):
            return number(self.value, _DECIMALS.get(self.column, 1))
        return str(self.value)


@dataclass(frozen=True)
class Line:
    label: str
    value: str


@dataclass(frozen=True)
class Change:
    """A score at follow-up against the pre-treatment form."""

    label: str
    baseline: float | None
    now: float | None
    higher_is_better: bool
    decimals: int = 1

    @property
    def difference(self) -> float | None:
        if self.baseline is None or self.now is None:
            return None
        return self.now - self.baseline

    @property
    def direction(self) -> str:
        diff = self.difference
        if diff is None:
            return ""
        if round(diff, self.decimals) == 0:
            return _t("uendret", "unchanged")
        better = diff > 0 if self.higher_is_better else diff < 0
        return _t("bedre", "better") if better else _t("verre", "worse")

    @property
    def text(self) -> str:
        if self.now is None or self.baseline is None:
            missing = _t("mangler", "missing")
            now = missing if self.now is None else number(self.now, self.decimals)
            before = missing if self.baseline is None else number(self.baseline, self.decimals)
            return _t(f"{now} (før behandling {before})", f"{now} (before treatment {before})")
        diff = self.difference or 0.0
        sign = "+" if diff > 0 else "−" if diff < 0 else "±"
        change = f"{sign}{number(abs(diff), self.decimals)}"
        return _t(
            f"{number(self.now, self.decimals)} (før behandling "
            f"{number(self.baseline, self.decimals)}; endring {change}, {self.direction})",
            f"{number(self.now, self.decimals)} (before treatment "
            f"{number(self.baseline, self.decimals)}; change {change}, {self.direction})",
        )


@dataclass(frozen=True)
class Summary:
    scores: list[ScoreRow]
    pain_regions: list[str] | None
    work: list[str]
    key: list[Line]
    pain_causes: list[str]
    changes: list[Change] = field(default_factory=list)
    value_set: str = ""
    wording: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)


def _label(definition: Definition, item_id: str, answers: Mapping[str, Any]) -> Line | None:
    item = definition.items_by_id.get(item_id)
    if item is None or answers.get(item_id) in (None, ""):
        return None
    value = answers[item_id]
    if item_id in NRS_ITEMS:
        text = f"{value}/10"
    elif item.type == "choice":
        text = item.code_label(value)
    elif item.type == "boolean":
        text = _t("Ja", "Yes") if value else _t("Nei", "No")
    elif isinstance(value, float):
        text = number(value)
    else:
        text = str(value)
    return Line(str(item.label), text)


def _asked_instruments(definition: Definition, answers: Mapping[str, Any]) -> set[str]:
    asked = set()
    for item in visible_items(definition, answers):
        if item.instrument:
            asked.add(item.instrument)
        if item.widget == "body-region":
            asked.add("pain")
    return asked


def value_set_title(name: str | None) -> str:
    if not name:
        return ""
    try:
        return scoring.get_value_set(name).title
    except ImproperlyConfigured:
        return name


def _baseline(response: Response) -> Response | None:
    if response.kind not in (FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12):
        return None
    return Response.objects.filter(
        course_id=response.course_id, kind=FormKind.PRE_TREATMENT, status=FormStatus.FERDIGSTILT
    ).first()


def _value(response: Response, key: str) -> float | None:
    value = (response.scores or {}).get(key, (response.answers or {}).get(key))
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def build_summary(response: Response, definition: Definition) -> Summary:
    answers = response.answers
    scores = response.scores or {}
    asked = _asked_instruments(definition, answers)
    value_set = value_set_title(scores.get("Score_EQ5DL_ValueSet"))
    rows = []
    for col, instrument, nb, en in SCORE_ROWS:
        if col not in scores:
            continue
        label = _t(nb, en)
        if col == "Score_EQ5DL" and value_set:
            label = _t(f"{nb} (verdisett: {value_set})", f"{en} (value set: {value_set})")
        value = scores.get(col)
        rows.append(
            ScoreRow(
                col,
                label,
                value,
                scoring.band(col, value),
                not_asked=value is None and instrument not in asked,
            )
        )
    regions: list[str] | None = [
        str(definition.items_by_id[item_id].label)
        for item_id in body_map.REGIONS
        if answers.get(item_id) and item_id in definition.items_by_id
    ]
    if not any(key.startswith(scoring.PAIN_REGION_PREFIX) for key in answers):
        regions = None if "pain" in asked else []
    work = []
    for item in definition.items():
        if item.id.startswith("S2_") and not item.id.endswith("_Percent") and answers.get(item.id):
            percent = answers.get(f"{item.id}_Percent")
            work.append(f"{item.label}" + (f" ({percent} %)" if percent is not None else ""))
    causes = [
        str(item.label)
        for item in definition.items()
        if item.id.startswith("PainCauses") and item.type == "boolean" and answers.get(item.id)
    ]
    if answers.get("PainCausesOther"):
        causes.append(str(answers["PainCausesOther"]))
    key = [line for item_id in KEY_ITEMS if (line := _label(definition, item_id, answers))]
    changes: list[Change] = []
    baseline = _baseline(response)
    if baseline is not None:
        for column, nb, en, higher_better, decimals in CHANGE_ROWS:
            if column == "NdiScore" and "ndi" not in asked:
                continue
            now, before = _value(response, column), _value(baseline, column)
            if now is None and before is None:
                continue
            changes.append(Change(_t(nb, en), before, now, higher_better, decimals))
    return Summary(
        scores=rows,
        pain_regions=regions,
        work=work,
        key=key,
        pain_causes=causes,
        changes=changes,
        value_set=value_set,
        wording=wording.describe(response.wording),
        placeholders=wording.placeholder_names(response.wording),
    )


def journal_note(response: Response, definition: Definition, summary: Summary) -> str:
    """Plain text for the patient record ("Journalnotat"): no markup, one fact per line."""
    date = response.completed_at.strftime("%d.%m.%Y") if response.completed_at else ""
    registry = _t("Norsk nakke- og ryggregister", "Norwegian Neck and Back Registry")
    lines = [f"{definition.title} ({date}), {registry}", ""]
    for row in summary.scores:
        band = f" – {row.band}" if row.band else ""
        lines.append(f"{row.label}: {row.text}{band}")
    if summary.changes:
        lines += ["", _t("Endring fra før behandling", "Change from before treatment") + ":"]
        lines += [f"{change.label}: {change.text}" for change in summary.changes]
    if summary.pain_regions:
        lines += ["", _t("Smerteområder", "Pain regions") + ": " + ", ".join(summary.pain_regions)]
    if summary.pain_causes:
        lines.append(
            _t("Pasientens oppfatning av årsak", "The patient's view of the cause")
            + ": "
            + ", ".join(summary.pain_causes)
        )
    if summary.work:
        lines.append(_t("Arbeidssituasjon", "Work situation") + ": " + ", ".join(summary.work))
    if summary.key:
        lines.append("")
        lines += [f"{line.label}: {line.value}" for line in summary.key]
    return "\n".join(lines).strip() + "\n"
