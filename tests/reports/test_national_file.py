"""The national indicator file: header, one row per course per indicator, coverage aggregated."""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.reports import national_file
from nnrr.reports.models import CoverageEntry
from tests.conftest import HAUKELAND, ST_OLAVS
from tests.reports.test_indicators import EXPECTED_ST_OLAVS_2024

ST_OLAVS_ORGNR = "974749025"
HAUKELAND_ORGNR = "974557746"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def coverage(fixture: None) -> None:
    CoverageEntry.objects.create(
        unit=Unit.objects.get(pk=ST_OLAVS),
        year=2024,
        half=1,
        eligible=12,
        entered_at=timezone.now(),
    )


def test_rows_and_columns(coverage: None) -> None:
    out = io.StringIO()
    count = national_file.write(out, 2024, 2024)
    text = out.getvalue()
    assert text.splitlines()[0] == "context,orgnr,year,var,denominator,ind_id"
    rows = _rows(text)
    assert len(rows) == count
    assert {r["context"] for r in rows} == {"caregiver"}
    assert {r["year"] for r in rows} == {"2024"}
    own = [r for r in rows if r["orgnr"] == ST_OLAVS_ORGNR and r["ind_id"] != "nnrr_dg"]
    # One row per course in the denominator; var sums to the numerator.
    dens = Counter(r["ind_id"] for r in own)
    nums = Counter(r["ind_id"] for r in own if r["var"] == "1")
    for ind_id, (num, den) in EXPECTED_ST_OLAVS_2024.items():
        assert (nums[ind_id], dens[ind_id]) == (num, den), ind_id
    assert {r["denominator"] for r in own} == {"1"}
    assert {r["var"] for r in own} == {"0", "1"}
    # Coverage: one aggregated row per unit and year that reported eligible patients.
    dg = [r for r in rows if r["ind_id"] == "nnrr_dg"]
    assert dg == [
        {
            "context": "caregiver",
            "orgnr": ST_OLAVS_ORGNR,
            "year": "2024",
            "var": "8",
            "denominator": "12",
            "ind_id": "nnrr_dg",
        }
    ]
    assert any(r["orgnr"] == HAUKELAND_ORGNR for r in rows)
    assert HAUKELAND  # other unit's rows present


def test_the_command_writes_the_same_file(coverage: None, tmp_path: Path) -> None:
    target = tmp_path / "indikatorer.csv"
    call_command("indicators", "--from-year", "2023", "--to-year", "2024", "--out", str(target))
    expected = io.StringIO()
    national_file.write(expected, 2023, 2024)
    assert target.read_text(encoding="utf-8") == expected.getvalue()
    assert "2023" in {r["year"] for r in _rows(expected.getvalue())}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-year", "20x4", "--to-year", "2024"], "four digits"),
        (["--from-year", "2024", "--to-year", "2022"], "before"),
        (["--from-year", "2019", "--to-year", "2022"], "starts in 2021"),
    ],
)
def test_bad_arguments_give_one_clear_line(
    db: Any, tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message) as caught:
        call_command("indicators", *args, "--out", str(tmp_path / "x.csv"))
    assert "\n" not in str(caught.value)


def test_missing_directory_is_a_clear_error(db: Any, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="does not exist"):
        call_command(
            "indicators",
            "--from-year",
            "2022",
            "--to-year",
            "2024",
            "--out",
            str(tmp_path / "no/x.csv"),
        )


# --- A fixed registry, every row counted by hand (indicators.md) ------------------------------

CLIN_YES = {
    "Treatment_InvidualInterdisciplinary": 1,
    "Treatment_GroupInterdisciplinary2018": 0,
    "TreatmentMasteryOrientedConversation": 1,
}
CLIN_NO = {
    "Treatment_InvidualInterdisciplinary": 0,
    "Treatment_GroupInterdisciplinary2018": 0,
    "TreatmentMasteryOrientedConversation": 2,
}
SICK = {"IsEmployed": 1, "S2_SickLeave": True, "S2_SickLeave_Percent": 100}


@pytest.fixture
def boundary_registry(db: Any) -> None:
    import datetime as dt

    from nnrr.questionnaires.models import FormKind, FormStatus
    from tests.reports.builders import course

    # K1: 10 → 7 in ODI and pain at rest is exactly 30 % (in); referral 31 days before.
    course(
        ST_OLAVS,
        "2024-02-01",
        referral=dt.date(2024, 1, 1),
        clinician=CLIN_YES,
        baseline={**SICK, "PainExperiencesNoActivity": 10, "PainExperiencesActivity": 0},
        baseline_scores={"OdiScore": 10},
        six={
            "PainExperiencesNoActivity": 7,
            "PainExperiencesActivity": 0,
            "S2_Working": True,
            "S2_SickLeave": False,
            "S2_NAV": False,
            "UseOfTreatment": 3,
            "TreatmentSatisfaction": 3,
        },
        six_scores={"OdiScore": 7},
    )
    # K2: referral after the visit (negative waiting time: not counted); ODI and rest pain 0 at
    # baseline; still sick-listed, at a lower percentage.
    k2 = course(
        ST_OLAVS,
        "2024-03-10",
        referral=dt.date(2024, 3, 10),
        clinician=CLIN_NO,
        baseline={**SICK, "PainExperiencesNoActivity": 0, "PainExperiencesActivity": 5},
        baseline_scores={"OdiScore": 0},
        six={
            "PainExperiencesNoActivity": 2,
            "PainExperiencesActivity": 4,
            "S2_Working": True,
            "S2_SickLeave": True,
            "S2_SickLeave_Percent": 50,
            "UseOfTreatment": 5,
            "TreatmentSatisfaction": 4,
        },
        six_scores={"OdiScore": 4},
    )
    # (The visit was registered as 1 March, before the referral: a date the form refuses today.)
    k2.responses.filter(kind=FormKind.CLINICIAN).update(
        answers={**CLIN_NO, "S1b_DateOfCompletion": "2024-03-01"}
    )
    # K3: exactly 50 days; coping conversation unanswered; a 6-month form with most items missing.
    course(
        ST_OLAVS,
        "2024-04-15",
        referral=dt.date(2024, 2, 25),
        clinician={
            "Treatment_InvidualInterdisciplinary": 0,
            "Treatment_GroupInterdisciplinary2018": 2,
        },
        baseline={**SICK, "PainExperiencesNoActivity": 6, "PainExperiencesActivity": 6},
        baseline_scores={"OdiScore": 40},
        six={"TreatmentSatisfaction": 2},
        six_scores={"OdiScore": None},
    )
    # K4: 51 days; no 6-month form.
    course(
        ST_OLAVS,
        "2024-05-01",
        referral=dt.date(2024, 3, 11),
        clinician={**CLIN_NO, "TreatmentMasteryOrientedConversation": 1},
        baseline=SICK,
        baseline_scores={"OdiScore": 30},
    )
    # K5: visit in July 2024: process year 2024, follow-up year 2025 (outside the file's years).
    course(
        ST_OLAVS,
        "2024-07-01",
        referral=dt.date(2024, 6, 1),
        clinician={**CLIN_YES, "Treatment_InvidualInterdisciplinary": 2},
        baseline={**SICK, "PainExperiencesNoActivity": 8},
        baseline_scores={"OdiScore": 50},
        six={"PainExperiencesNoActivity": 1, "UseOfTreatment": 1, "TreatmentSatisfaction": 1},
        six_scores={"OdiScore": 10},
    )
    # K6: visit September 2023: follow-up year 2024, process year 2023 (outside the file).
    course(
        ST_OLAVS,
        "2023-09-30",
        clinician=CLIN_YES,
        baseline={"IsEmployed": 0, "PainExperiencesNoActivity": 5, "PainExperiencesActivity": 10},
        baseline_scores={"OdiScore": 30},
        six={"PainExperiencesNoActivity": 4, "PainExperiencesActivity": 7, "UseOfTreatment": 2},
        six_scores={"OdiScore": 25},
    )
    # K7 (no consent) and K8 (Behandlerskjema a draft) count nowhere.
    improved = {"PainExperiencesNoActivity": 1, "UseOfTreatment": 1, "TreatmentSatisfaction": 1}
    course(
        ST_OLAVS,
        "2024-02-02",
        clinician=CLIN_YES,
        baseline={**SICK, "PainExperiencesNoActivity": 9},
        baseline_scores={"OdiScore": 60},
        six=improved,
        six_scores={"OdiScore": 0},
        consent=False,
    )
    course(
        ST_OLAVS,
        "2024-02-03",
        clinician=CLIN_YES,
        clinician_status=FormStatus.KLADD,
        baseline={**SICK, "PainExperiencesNoActivity": 9},
        baseline_scores={"OdiScore": 60},
        six=improved,
        six_scores={"OdiScore": 0},
    )


# ind_id: the var of each row in the file for 2024 (one row per course in the denominator).
BOUNDARY_2024 = {
    "nnrr_tverrfaglig_behandling": sorted([1, 0, 1, 0, 1]),  # K1, K2, K3, K4, K5
    "nnrr_mestringsorientert_samtale": sorted([1, 0, 1, 1]),  # K1, K2, K4, K5 (K3 unanswered)
    "nnrr_tid_henvisning_besok_50": sorted([1, 1, 0, 1]),  # K1 31, K3 50, K4 51, K5 30 days
    "nnrr_bedret_funksjon": sorted([1, 0, 0]),  # K1 3 ÷ 10, K2 baseline 0, K6 5 ÷ 30
    "nnrr_funksjons_nedsettelse": sorted([1, 1, 0]),  # K1 7, K2 4, K6 25
    "nnrr_bedring_smerte_hvile": sorted([1, 0]),  # K1 3 ÷ 10, K6 1 ÷ 5 (K2 baseline 0)
    "nnrr_bedring_smerte_aktiv": sorted([0, 1]),  # K2 1 ÷ 5, K6 3 ÷ 10 (K1 baseline 0)
    "nnrr_jobb_ny_v1": sorted([1, 0, 0]),  # K1 working; K2 still sick-listed; K3 unanswered
    "nnrr_jobb_ny_v2": sorted([1, 1, 0]),  # K2: 100 % → 50 %
    "nnrr_bedring_av_behandling": sorted([1, 0, 1]),  # K1 3, K2 5, K6 2 (K3 unanswered)
    "nnrr_misfornoeyd": sorted([1, 0, 1]),  # K1 3, K2 4, K3 2 (K6 unanswered)
}


def test_national_file_on_a_fixed_registry_counted_by_hand(boundary_registry: None) -> None:
    out = io.StringIO()
    national_file.write(out, 2024, 2024)
    rows = _rows(out.getvalue())
    got: dict[str, list[int]] = {}
    for row in rows:
        assert (row["context"], row["orgnr"], row["year"], row["denominator"]) == (
            "caregiver",
            ST_OLAVS_ORGNR,
            "2024",
            "1",
        )
        got.setdefault(row["ind_id"], []).append(int(row["var"]))
    assert {k: sorted(v) for k, v in got.items()} == BOUNDARY_2024
    # The point-change variants are shown in the reports only.
    assert not {"odi_klinisk_viktig_6mnd", "bedring_smerte_hvile_6mnd_v2"} & set(got)


def test_point_change_shares_keep_the_indicator_denominator(boundary_registry: None) -> None:
    from nnrr.reports import indicators as ind

    counts = ind.counted(
        [ind.BY_ID["odi_klinisk_viktig_6mnd"], ind.BY_ID["bedring_smerte_hvile_6mnd_v2"]],
        2024,
        2024,
    )
    odi = counts["odi_klinisk_viktig_6mnd"].unit(ST_OLAVS, 2024)
    rest = counts["bedring_smerte_hvile_6mnd_v2"].unit(ST_OLAVS, 2024)
    # ODI: K1 3, K2 −4, K6 5 points: none ≥ 10. Rest pain: K1 3, K6 1 point: K1 ≥ 2.
    assert (odi.numerator, odi.denominator) == (0, 3)
    assert (rest.numerator, rest.denominator) == (1, 2)


def test_the_command_accepts_2021_and_refuses_2020_as_the_first_year(
    db: Any, tmp_path: Path
) -> None:
    target = tmp_path / "fra-2021.csv"
    call_command("indicators", "--from-year", "2021", "--to-year", "2022", "--out", str(target))
    assert target.read_text(encoding="utf-8").startswith("context,orgnr,year,var,denominator")
    with pytest.raises(CommandError, match="starts in 2021"):
        call_command(
            "indicators", "--from-year", "2020", "--to-year", "2022", "--out", str(tmp_path / "x")
        )
    assert not (tmp_path / "x").exists()


def test_the_coverage_row_keeps_the_registered_count_above_the_eligible(db: Any) -> None:
    from tests.reports.builders import course

    for _ in range(3):
        course(ST_OLAVS, "2024-03-03", clinician={}, baseline={})
    CoverageEntry.objects.create(
        unit=Unit.objects.get(pk=ST_OLAVS), year=2024, half=2, eligible=2, entered_at=timezone.now()
    )
    out = io.StringIO()
    national_file.write(out, 2024, 2024)
    dg = [r for r in _rows(out.getvalue()) if r["ind_id"] == "nnrr_dg"]
    assert [(r["orgnr"], r["var"], r["denominator"]) for r in dg] == [(ST_OLAVS_ORGNR, "3", "2")]


def test_a_unit_reporting_no_eligible_patients_gets_no_coverage_row(db: Any) -> None:
    from tests.reports.builders import course, coverage

    course(HAUKELAND, "2024-03-03", clinician={}, baseline={})
    for unit, eligible in ((ST_OLAVS, 0), (HAUKELAND, 1)):
        coverage(unit, eligible)
    out = io.StringIO()
    national_file.write(out, 2024, 2024)
    dg = [r for r in _rows(out.getvalue()) if r["ind_id"] == "nnrr_dg"]
    assert [(r["orgnr"], r["var"], r["denominator"]) for r in dg] == [(HAUKELAND_ORGNR, "1", "1")]
    streamed = "".join(national_file.stream(2024, 2024))
    assert streamed == out.getvalue()


def test_a_unit_reporting_eligible_patients_but_no_courses_has_coverage_zero(db: Any) -> None:
    CoverageEntry.objects.create(
        unit=Unit.objects.get(pk=ST_OLAVS), year=2024, half=1, eligible=5, entered_at=timezone.now()
    )
    out = io.StringIO()
    assert national_file.write(out, 2024, 2024) == 1
    assert _rows(out.getvalue()) == [
        {
            "context": "caregiver",
            "orgnr": ST_OLAVS_ORGNR,
            "year": "2024",
            "var": "0",
            "denominator": "5",
            "ind_id": "nnrr_dg",
        }
    ]


def test_each_indicators_rows_come_year_by_year_and_unit_by_unit(db: Any) -> None:
    from tests.reports.builders import course

    # Four courses per unit and year: sorted by their (random) ids alone, the units' rows of a
    # year would come grouped by unit in 1 case of 70 (both years in 1 of 4,900).
    for unit, visit in (
        (ST_OLAVS, "2024-02-02"),
        (HAUKELAND, "2023-05-05"),
        (ST_OLAVS, "2023-04-04"),
        (HAUKELAND, "2024-01-01"),
    ) * 4:
        course(unit, visit, clinician={"Treatment_InvidualInterdisciplinary": 1}, baseline={})
    out = io.StringIO()
    national_file.write(out, 2023, 2024)
    rows = [r for r in _rows(out.getvalue()) if r["ind_id"] == "nnrr_tverrfaglig_behandling"]
    # reshID order: Haukeland (102959) before St. Olavs (104293)
    assert [(r["year"], r["orgnr"]) for r in rows] == (
        [("2023", HAUKELAND_ORGNR)] * 4
        + [("2023", ST_OLAVS_ORGNR)] * 4
        + [("2024", HAUKELAND_ORGNR)] * 4
        + [("2024", ST_OLAVS_ORGNR)] * 4
    )
    assert {r["var"] for r in rows} == {"1"}
