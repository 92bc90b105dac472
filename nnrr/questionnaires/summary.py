"""The clinician's one-screen summary of a patient form, and the journal note made from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from nnrr.questionnaires import body_map, scoring
from nnrr.questionnaires.definitions import Definition
from nnrr.questionnaires.models import Response

# (score column, label) in the order the clinician reads them.
SCORE_ROWS = [
    ("OdiScore", "ODI (funksjon, 0–100)"),
    ("NdiScore", "NDI (nakkefunksjon, 0–50)"),
    ("FABQScore1", "FABQ fysisk aktivitet (0–24)"),
    ("FABQScore2", "FABQ arbeid (0–42)"),
    ("HSCL10Score", "HSCL-10 (psykisk plager, 1–4)"),
    ("UhiHighCount", "Subjektive helseplager (antall)"),
    ("NofPainRegions", "Antall smerteområder (0–32)"),
    ("Score_EQ5DL", "EQ-5D-5L indeks"),
    ("Eq5d_L_spm6", "EQ-5D VAS (0–100)"),
]

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


@dataclass(frozen=True)
class ScoreRow:
    column: str
    label: str
    value: Any
    band: scoring.Band | None

    @property
    def text(self) -> str:
        if self.value is None:
            return _("mangler")
        if isinstance(self.value, float):
            return (
                f"{self.value:.3f}".rstrip("0").rstrip(".")
                if self.column == "Score_EQ5DL"
                else (f"{self.value:.1f}".rstrip("0").rstrip("."))
            )
        return str(self.value)


@dataclass(frozen=True)
class Line:
    label: str
    value: str


@dataclass(frozen=True)
class Summary:
    scores: list[ScoreRow]
    pain_regions: list[str]
    work: list[str]
    key: list[Line]
    pain_causes: list[str]


def _label(definition: Definition, item_id: str, answers: Mapping[str, Any]) -> Line | None:
    item = definition.items_by_id.get(item_id)
    if item is None or answers.get(item_id) in (None, ""):
        return None
    value = answers[item_id]
    if item.type == "choice":
        text = item.code_label(value)
    elif item.type == "boolean":
        text = _("Ja") if value else _("Nei")
    else:
        text = str(value)
    return Line(str(item.label), text)


def build_summary(response: Response, definition: Definition) -> Summary:
    answers = response.answers
    scores = response.scores or {}
    rows = [
        ScoreRow(col, label, scores.get(col), scoring.band(col, scores.get(col)))
        for col, label in SCORE_ROWS
        if col in scores
    ]
    regions = [
        str(definition.items_by_id[item_id].label)
        for item_id in body_map.REGIONS
        if answers.get(item_id) and item_id in definition.items_by_id
    ]
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
    return Summary(scores=rows, pain_regions=regions, work=work, key=key, pain_causes=causes)


def journal_note(response: Response, definition: Definition, summary: Summary) -> str:
    """Plain text for the patient record ("Journalnotat"): no markup, one fact per line."""
    date = response.completed_at.strftime("%d.%m.%Y") if response.completed_at else ""
    lines = [f"{definition.title} ({date}), Norsk nakke- og ryggregister", ""]
    for row in summary.scores:
        band = f" – {row.band.nb}" if row.band else ""
        lines.append(f"{row.label}: {row.text}{band}")
    if summary.pain_regions:
        lines += ["", _("Smerteområder") + ": " + ", ".join(summary.pain_regions)]
    if summary.pain_causes:
        lines.append(_("Pasientens oppfatning av årsak") + ": " + ", ".join(summary.pain_causes))
    if summary.work:
        lines.append(_("Arbeidssituasjon") + ": " + ", ".join(summary.work))
    if summary.key:
        lines.append("")
        lines += [f"{line.label}: {line.value}" for line in summary.key]
    return "\n".join(lines).strip() + "\n"
