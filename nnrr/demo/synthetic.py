"""Plausible synthetic answers for every form, driven by the form definitions.

Each synthetic patient has a latent burden (how bad things are before treatment), a main problem
(neck or low back) and a course after treatment: most improve a little, some a lot, some get
worse. Instrument items are drawn around that burden at each time point, so the scores correlate
the way real outcomes do (ODI, NDI, NRS, HSCL-10, EQ-5D move together; follow-ups move with the
patient's course).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import Definition, Group, Item
from nnrr.questionnaires.validation import prune_hidden

NECK_REGIONS = ("Neck", "Shoulder", "Head", "UpperBack", "Arm")
BACK_REGIONS = ("LowBack", "Hip", "Thigh", "Knee", "Leg", "Foot", "Buttock", "Pelvis")
BACK_DIAGNOSES = ["M54.5", "M54.5", "M54.5", "M51.1", "M51.1", "M48.0", "M47.2", "M43.1"]
NECK_DIAGNOSES = ["M54.2", "M54.2", "M54.2", "M50.1", "M47.2", "M50.0"]
EXTRA_DIAGNOSES = ["F32.1", "M79.7", "G43.9", "E66.9", "I10", "M17.1", "F41.1"]


@dataclass(frozen=True)
class Trajectory:
    burden: float  # 0 (mild) .. 1 (severe) before treatment
    neck: bool  # neck is the main problem (else low back)
    change: float  # relative improvement at 12 months: > 0 better, < 0 worse
    working: bool
    sick_listed: bool
    completion: float  # share of items a patient answers

    @classmethod
    def draw(cls, rng: random.Random) -> Trajectory:
        roll = rng.random()
        if roll < 0.25:
            change = rng.uniform(0.45, 0.85)  # some improve a lot
        elif roll < 0.85:
            change = rng.uniform(0.0, 0.35)  # most improve a little
        else:
            change = rng.uniform(-0.4, -0.02)  # some get worse
        working = rng.random() < 0.72
        return cls(
            burden=min(1.0, max(0.05, rng.betavariate(2.6, 3.2))),
            neck=rng.random() < 0.32,
            change=change,
            working=working,
            sick_listed=working and rng.random() < 0.45,
            completion=rng.uniform(0.9, 1.0),
        )

    def level(self, months: int) -> float:
        """Burden at a time point (0 = baseline, 6, 12), with a little noise added by callers."""
        if months == 0:
            return self.burden
        share = 0.85 if months == 6 else 1.0
        return min(1.0, max(0.0, self.burden * (1 - self.change * share)))


def _coded(rng: random.Random, item: Item, level: float, invert: bool = False) -> int:
    codes = sorted(item.code_values())
    position = (1 - level if invert else level) * (len(codes) - 1) + rng.gauss(0, 0.7)
    index = min(len(codes) - 1, max(0, round(position)))
    return codes[index]


def _number(rng: random.Random, item: Item, level: float, invert: bool = False) -> int:
    low, high = int(item.minimum or 0), int(item.maximum or 10)
    value = (
        (1 - level if invert else level) * (high - low) + low + rng.gauss(0, (high - low) * 0.08)
    )
    return min(high, max(low, round(value)))


def _instrument_answer(rng: random.Random, item: Item, level: float) -> Any:
    if item.widget == "vas":  # EQ VAS: 100 = best health
        return _number(rng, item, level, invert=True)
    if item.type == "choice":
        return _coded(rng, item, level)
    if item.type in {"integer", "decimal"}:
        return _number(rng, item, level)
    return None


def _pain_region(item_id: str, trajectory: Trajectory, level: float, rng: random.Random) -> bool:
    names = NECK_REGIONS if trajectory.neck else BACK_REGIONS
    near = any(name in item_id for name in names)
    probability = (0.25 + 0.6 * level) if near else 0.04 + 0.25 * level
    return rng.random() < probability


def patient_answers(
    definition: Definition, trajectory: Trajectory, months: int, rng: random.Random
) -> dict[str, Any]:
    """Answers to a patient form (pre-treatment when ``months`` is 0, else a follow-up)."""
    level = min(1.0, max(0.0, trajectory.level(months) + rng.gauss(0, 0.06)))
    answers: dict[str, Any] = {}
    for item in definition.items():
        if item.group and item.exclusive:
            continue
        if rng.random() > trajectory.completion and item.type != "boolean":
            continue  # patients skip a few questions
        value = _patient_item(item, trajectory, months, level, rng)
        if value is not None:
            answers[item.id] = value
    for group in definition.groups():
        _tidy_group(group, answers, rng)
    return prune_hidden(definition, answers)


def _patient_item(
    item: Item, trajectory: Trajectory, months: int, level: float, rng: random.Random
) -> Any:
    item_id = item.id
    if item.widget == "body-region":
        return _pain_region(item_id, trajectory, level, rng)
    if item_id == "IsNeckPainMainProblem":
        return trajectory.neck if item.type == "boolean" else _yes_no(item, trajectory.neck)
    if item_id.startswith("PainExperiences"):
        bump = 0.12 if item_id.endswith("Activity") and "No" not in item_id else 0.0
        return _number(rng, item, min(1.0, level + bump))
    if item_id == "UseOfTreatment":
        # 1 = completely well … 7 = worse than ever, following the patient's course.
        position = 3.6 - trajectory.change * 4.2 + rng.gauss(0, 0.6)
        return min(7, max(1, round(position)))
    if item_id == "TreatmentSatisfaction":
        position = 2.2 - trajectory.change * 2 + rng.gauss(0, 0.8)
        return min(5, max(1, round(position)))
    if item_id == "IsEmployed":
        if item.type == "boolean":
            return trajectory.working
        return _yes_no(item, trajectory.working)
    if item_id == "S2_Working":
        return trajectory.working and (months == 0 or rng.random() < 0.85 + trajectory.change / 4)
    if item_id == "S2_SickLeave":
        return trajectory.sick_listed and (months == 0 or rng.random() > 0.3 + trajectory.change)
    if item_id.endswith("_Percent"):
        return rng.choice([20, 40, 50, 60, 80, 100])
    if item.instrument:
        return _instrument_answer(rng, item, level)
    if item.type == "boolean":
        return rng.random() < 0.2
    if item.type == "choice":
        return rng.choice(sorted(item.code_values()))
    if item.type in {"integer", "decimal"}:
        low, high = int(item.minimum or 0), int(item.maximum or 0)
        return min(high, max(low, round(rng.triangular(low, min(high, low + 6), low + 1))))
    return None  # free text and dates stay empty in synthetic data


def _yes_no(item: Item, yes: bool) -> int:
    """The code labelled "Ja" (or "Nei") of a yes/no item, whatever numbers it uses."""
    for code in item.codes:
        if (code.label.nb.strip().lower() == "ja") == yes and code.label.nb.strip().lower() in {
            "ja",
            "nei",
        }:
            return code.code
    return sorted(item.code_values())[0 if yes else -1]


def _tidy_group(group: Group, answers: dict[str, Any], rng: random.Random) -> None:
    """At least one tick; the group's "none" box only when nothing else is ticked."""
    others = [i for i in group.items if not i.exclusive]
    ticked = [i for i in others if answers.get(i.id)]
    none_item = group.none_item
    if not ticked:
        if none_item is not None and rng.random() < 0.5:
            answers[none_item.id] = True
            for i in others:
                answers[i.id] = False
            return
        answers[rng.choice(others).id] = True
    if none_item is not None:
        answers[none_item.id] = False


def clinician_answers(
    definition: Definition,
    trajectory: Trajectory,
    visit: dt.date,
    rng: random.Random,
) -> dict[str, Any]:
    """A complete Behandlerskjema consistent with the patient's burden and main problem."""
    answers: dict[str, Any] = {}
    for item in definition.items():
        if item.group:
            continue
        answers_value = _clinician_item(item, trajectory, visit, rng, position=_position(item))
        if answers_value is not None:
            answers[item.id] = answers_value
    for group in definition.groups():
        for item in group.items:
            if not item.exclusive:
                answers[item.id] = rng.random() < (0.15 + 0.3 * trajectory.burden)
        _tidy_group(group, answers, rng)
    answers = prune_hidden(definition, answers)
    # Conditional items revealed by the ticks above (medication frequency, subcategories).
    for item in definition.items():
        if item.id not in answers and item.mandatory and not item.group:
            value = _clinician_item(item, trajectory, visit, rng, position=_position(item))
            if value is not None:
                answers[item.id] = value
    return prune_hidden(definition, answers)


def _position(item: Item) -> int:
    digits = "".join(ch for ch in item.id if ch.isdigit())
    return int(digits) if item.type == "diagnosis" and digits else 0


def _clinician_item(
    item: Item, trajectory: Trajectory, visit: dt.date, rng: random.Random, position: int
) -> Any:
    if item.id == "S1b_DateOfCompletion":
        return visit.isoformat()
    if item.type == "diagnosis":
        if position == 1:
            return rng.choice(NECK_DIAGNOSES if trajectory.neck else BACK_DIAGNOSES)
        if position == 4 and rng.random() < 0.25:
            return rng.choice(EXTRA_DIAGNOSES)
        return None
    if item.type == "date":
        return visit.isoformat()
    if item.type == "text":
        return None
    if item.type == "boolean":
        return rng.random() < 0.15
    if item.type == "choice":
        codes = sorted(item.code_values())
        if item.id == "CourseYellowFlagComplicatingFactors":
            return codes[min(len(codes) - 1, round(trajectory.burden * (len(codes) - 1)))]
        if item.id == "TreatmentMasteryOrientedConversation":
            return codes[0] if rng.random() < 0.9 else codes[-1]
        if item.id in {
            "Treatment_InvidualInterdisciplinary",
            "Treatment_GroupInterdisciplinary2018",
        }:
            return codes[0] if rng.random() < 0.62 else rng.choice(codes[1:])
        return rng.choice(codes)
    if item.type in {"integer", "decimal"}:
        return int(item.minimum or 0)
    return None


def with_diagnosis_types(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Store codes as the registry does (``M545``) with ``…Name`` and ``…Type`` beside each."""
    result = dict(answers)
    for position in range(1, 7):
        code = result.get(f"DiagnosticNumber{position}")
        if code:
            diagnosis = diagnoses.validate_code(code)
            result[f"DiagnosticNumber{position}"] = diagnosis.code
            result[f"DiagnosticNumber{position}Name"] = diagnosis.name_nb
            result[f"DiagnosticNumber{position}Type"] = diagnoses.group_of(code, position=position)
    return result
