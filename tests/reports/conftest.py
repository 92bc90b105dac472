"""The hand-computed fixture every reports test uses (see test_indicators.py for the sums)."""

from __future__ import annotations

from typing import Any

import pytest

from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormStatus
from tests.conftest import HAUKELAND, ST_OLAVS
from tests.reports.builders import course

NONE = {"Treatment_InvidualInterdisciplinary": 0, "Treatment_GroupInterdisciplinary2018": 0}


def _process(unit: int, visit: str, indiv: int, group: int, mastery: int | None, **kw: Any):
    answers: dict[str, Any] = {
        "Treatment_InvidualInterdisciplinary": indiv,
        "Treatment_GroupInterdisciplinary2018": group,
    }
    if mastery is not None:
        answers["TreatmentMasteryOrientedConversation"] = mastery
    kw.setdefault("baseline", {})
    return course(unit, visit, clinician=answers, **kw)


def _outcome(unit: int, visit: str, base: dict, base_scores: dict, six: Any, six_scores: Any, **kw):
    return course(
        unit,
        visit,
        clinician=NONE,
        baseline=base,
        baseline_scores=base_scores,
        six=six,
        six_scores=six_scores,
        **kw,
    )


@pytest.fixture
def fixture(db: Any) -> None:
    # --- process, visit year 2024 -----------------------------------------------------------
    _process(ST_OLAVS, "2024-03-10", 1, 0, 1)  # A: interdisciplinary, conversation yes
    _process(ST_OLAVS, "2024-05-01", 0, 2, 2)  # B: group interdisciplinary, conversation no
    _process(ST_OLAVS, "2024-08-01", 0, 0, None)  # C: neither; conversation unanswered
    _process(ST_OLAVS, "2024-04-01", 1, 1, 1, consent=False)  # D: no consent
    _process(ST_OLAVS, "2024-04-02", 1, 1, 1, baseline=None)  # E: no pre-treatment form
    _process(ST_OLAVS, "2024-04-03", 1, 1, 1, baseline_status=FormStatus.KLADD)  # E2: draft 1a
    _process(ST_OLAVS, "2023-12-31", 1, 0, 1)  # F: wrong year (2023)
    _process(HAUKELAND, "2024-02-02", 1, 0, 1)  # G: other unit
    _process(ST_OLAVS, "2024-04-04", 1, 0, 1, clinician_status=FormStatus.KLADD)  # H: 1b draft
    _process(ST_OLAVS, "2024-04-05", 1, 0, 1, status=Course.Status.DELETED)  # I: deleted course
    # --- outcomes, follow-up year 2024 ------------------------------------------------------
    _outcome(  # O1
        ST_OLAVS,
        "2023-09-15",
        {
            "PainExperiencesNoActivity": 6,
            "PainExperiencesActivity": 0,
            "IsEmployed": 1,
            "S2_SickLeave": True,
            "S2_SickLeave_Percent": 100,
        },
        {"OdiScore": 40},
        {
            "PainExperiencesNoActivity": 4,
            "PainExperiencesActivity": 0,
            "S2_Working": True,
            "S2_SickLeave": False,
            "S2_NAV": False,
            "UseOfTreatment": 3,
            "TreatmentSatisfaction": 3,
        },
        {"OdiScore": 30},
    )
    _outcome(  # O2
        ST_OLAVS,
        "2024-01-20",
        {
            "PainExperiencesNoActivity": 5,
            "PainExperiencesActivity": 7,
            "IsEmployed": 1,
            "S2_SickLeave": True,
            "S2_SickLeave_Percent": 100,
        },
        {"OdiScore": 30.2},
        {
            "PainExperiencesNoActivity": 4,
            "PainExperiencesActivity": 5,
            "S2_Working": True,
            "S2_SickLeave": True,
            "S2_SickLeave_Percent": 50,
            "UseOfTreatment": 4,
            "TreatmentSatisfaction": 4,
        },
        {"OdiScore": 23.0},
    )
    _outcome(  # O3: missing 6-month form
        ST_OLAVS,
        "2024-03-01",
        {"PainExperiencesNoActivity": 5, "IsEmployed": 1, "S2_SickLeave": True},
        {"OdiScore": 50},
        None,
        None,
    )
    _outcome(  # O4: unanswered items (ODI at 6 m, rest pain at baseline, benefit)
        ST_OLAVS,
        "2024-02-01",
        {"PainExperiencesActivity": 4, "IsEmployed": 0, "S2_SickLeave": True},
        {"OdiScore": 44},
        {"PainExperiencesNoActivity": 3, "PainExperiencesActivity": 2, "TreatmentSatisfaction": 5},
        {"OdiScore": None},
    )
    _outcome(  # O5: follow-up year 2025 (visit in August 2024)
        ST_OLAVS,
        "2024-08-01",
        {"PainExperiencesNoActivity": 8, "PainExperiencesActivity": 8},
        {"OdiScore": 60},
        {"PainExperiencesNoActivity": 1, "PainExperiencesActivity": 1, "UseOfTreatment": 1},
        {"OdiScore": 10},
    )
    _outcome(  # O6: other unit
        HAUKELAND,
        "2024-01-10",
        {"PainExperiencesNoActivity": 6, "PainExperiencesActivity": 6},
        {"OdiScore": 50},
        {"PainExperiencesNoActivity": 1, "PainExperiencesActivity": 1, "UseOfTreatment": 1},
        {"OdiScore": 20},
    )
    _outcome(  # O7: no consent
        ST_OLAVS,
        "2024-01-11",
        {"PainExperiencesNoActivity": 6},
        {"OdiScore": 50},
        {"PainExperiencesNoActivity": 1, "UseOfTreatment": 1, "TreatmentSatisfaction": 1},
        {"OdiScore": 20},
        consent=False,
    )
    _outcome(  # O8: visit June 2023, follow-up year 2023
        ST_OLAVS,
        "2023-06-30",
        {"PainExperiencesNoActivity": 6},
        {"OdiScore": 50},
        {"PainExperiencesNoActivity": 1, "UseOfTreatment": 1, "TreatmentSatisfaction": 1},
        {"OdiScore": 20},
    )
    _outcome(  # O9: a 10-point gain that floating point makes 9.999…; AAP at 6 m
        ST_OLAVS,
        "2024-04-01",
        {
            "PainExperiencesNoActivity": 0,
            "PainExperiencesActivity": 3,
            "IsEmployed": 1,
            "S2_SickLeave": True,
        },
        {"OdiScore": 32.3},
        {
            "PainExperiencesNoActivity": 0,
            "PainExperiencesActivity": 2,
            "S2_Working": True,
            "S2_NAV": True,
            "S2_SickLeave_Percent": 0,
            "UseOfTreatment": 1,
        },
        {"OdiScore": 22.3},
    )
