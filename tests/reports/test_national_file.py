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
    from tests.reports.builders import course

    course(HAUKELAND, "2024-03-03", clinician={}, baseline={})
    for unit, eligible in ((ST_OLAVS, 0), (HAUKELAND, 1)):
        CoverageEntry.objects.create(
            unit=Unit.objects.get(pk=unit),
            year=2024,
            half=1,
            eligible=eligible,
            entered_at=timezone.now(),
        )
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

    for unit, visit in (
        (ST_OLAVS, "2024-02-02"),
        (HAUKELAND, "2023-05-05"),
        (ST_OLAVS, "2023-04-04"),
        (HAUKELAND, "2024-01-01"),
    ):
        course(unit, visit, clinician={"Treatment_InvidualInterdisciplinary": 1}, baseline={})
    out = io.StringIO()
    national_file.write(out, 2023, 2024)
    rows = [r for r in _rows(out.getvalue()) if r["ind_id"] == "nnrr_tverrfaglig_behandling"]
    # reshID order: Haukeland (102959) before St. Olavs (104293)
    assert [(r["year"], r["orgnr"]) for r in rows] == [
        ("2023", HAUKELAND_ORGNR),
        ("2023", ST_OLAVS_ORGNR),
        ("2024", HAUKELAND_ORGNR),
        ("2024", ST_OLAVS_ORGNR),
    ]
    assert {r["var"] for r in rows} == {"1"}
