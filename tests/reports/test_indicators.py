"""Every indicator against a small fixture computed by hand, with each exclusion in it.

St. Olavs (SO) and Haukeland (HUS). Process indicators count by visit year (2024 here), outcome
indicators by follow-up year (visit + 6 months: visits July 2023 – June 2024 give 2024).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nnrr.accounts.models import Unit
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormStatus
from nnrr.reports import indicators as ind
from nnrr.reports.models import CoverageEntry
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


EXPECTED_ST_OLAVS_2024 = {
    "nnrr_tverrfaglig_behandling": (2, 8),  # A, B of A, B, C, O2, O3, O4, O5, O9
    "nnrr_mestringsorientert_samtale": (1, 2),  # A of A, B
    "nnrr_bedret_funksjon": (2, 3),  # O1 (exactly 10), O9 (10 in floating point) of O1, O2, O9
    "nnrr_funksjons_nedsettelse": (2, 3),  # O2 (exactly 23), O9 of O1, O2, O9
    "nnrr_bedring_smerte_hvile": (1, 2),  # O1 of O1, O2 (O9 baseline 0, O4 unanswered)
    "nnrr_bedring_smerte_aktiv": (2, 3),  # O2, O4 of O2, O4, O9 (O1 baseline 0)
    "nnrr_jobb": (1, 3),  # O1 of O1, O2, O9 (O4 not employed)
    "nnrr_jobb_v2": (2, 3),  # O1, O2 (lower sick-leave %) of O1, O2, O9
    "nnrr_bedring_av_behandling": (2, 3),  # O1, O9 of O1, O2, O9
    "nnrr_misfornoeyd": (1, 3),  # O1 of O1, O2, O4
}


def test_every_indicator_against_the_hand_computed_fixture(fixture: None) -> None:
    counts = ind.counted([i for i in ind.INDICATORS if i.id != "nnrr_dg"], 2024, 2024)
    got = {
        ind_id: (c.unit(ST_OLAVS, 2024).numerator, c.unit(ST_OLAVS, 2024).denominator)
        for ind_id, c in counts.items()
    }
    assert got == EXPECTED_ST_OLAVS_2024


def test_other_unit_and_national_figures(fixture: None) -> None:
    counts = ind.counted(list(ind.INDICATORS[:3]), 2023, 2024)
    tverr = counts["nnrr_tverrfaglig_behandling"]
    assert (tverr.unit(HAUKELAND, 2024).numerator, tverr.unit(HAUKELAND, 2024).denominator) == (
        1,
        2,  # G, and O6 (no interdisciplinary treatment)
    )
    assert tverr.national(2024).denominator == 10
    assert tverr.rest(ST_OLAVS, 2024).denominator == 2
    assert (tverr.unit(ST_OLAVS, 2023).numerator, tverr.unit(ST_OLAVS, 2023).denominator) == (1, 3)
    odi = counts["nnrr_bedret_funksjon"]
    assert (odi.unit(ST_OLAVS, 2023).numerator, odi.unit(ST_OLAVS, 2023).denominator) == (1, 1)
    assert (odi.national(2024).numerator, odi.national(2024).denominator) == (3, 4)


def test_coverage_uses_the_newest_entry_of_each_half_year(fixture: None) -> None:
    from django.utils import timezone

    now = timezone.now()
    unit = Unit.objects.get(pk=ST_OLAVS)
    CoverageEntry.objects.create(unit=unit, year=2024, half=1, eligible=10, entered_at=now)
    CoverageEntry.objects.create(
        unit=unit, year=2024, half=1, eligible=8, entered_at=now + dt.timedelta(minutes=1)
    )
    CoverageEntry.objects.create(unit=unit, year=2024, half=2, eligible=8, entered_at=now)
    cov = ind.counted([ind.COVERAGE], 2024, 2024)["nnrr_dg"]
    # Registered: A, B, C, O2, O3, O4, O5, O9 = 8 of 8 + 8 eligible.
    assert (cov.unit(ST_OLAVS, 2024).numerator, cov.unit(ST_OLAVS, 2024).denominator) == (8, 16)
    # A unit that reported nothing has no coverage figure (not 0 %).
    assert cov.unit(HAUKELAND, 2024).denominator == 0


def test_targets_come_from_configuration(tmp_path: Any, settings: Any, fixture: None) -> None:
    override = tmp_path / "targets.toml"
    override.write_text(
        "[presentation]\nmin_denominator = 2\n"
        "[goals]\nnnrr_jobb = { goal = 0.55, minimum = 0.45 }\n"
    )
    settings.REPORTS_CONFIG = str(override)
    counts = ind.counted([ind.BY_ID["nnrr_jobb"]], 2024, 2024)["nnrr_jobb"]
    units = Unit.objects.filter(pk__in=[ST_OLAVS, HAUKELAND])
    table = ind.table(counts, units, None)
    assert (table.goal, table.minimum) == (0.55, 0.45)
    by_unit = {row.unit.pk: row for row in table.rows}
    assert not by_unit[ST_OLAVS].suppressed  # 3 ≥ 2
    assert by_unit[HAUKELAND].suppressed  # 0 < 2


def test_units_below_the_minimum_denominator_are_suppressed(fixture: None) -> None:
    counts = ind.counted([ind.BY_ID["nnrr_tverrfaglig_behandling"]], 2023, 2024)
    table = ind.table(counts["nnrr_tverrfaglig_behandling"], Unit.objects.filter(pk=ST_OLAVS), None)
    # 8 < 30 in the latest year: the unit is shown as N<30 (for every year).
    assert table.rows[0].suppressed
