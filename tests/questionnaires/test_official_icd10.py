"""The official Norwegian ICD-10 names: the committed copy of the npm package, and the names the
diagnosis picker shows for the codes the registry uses."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.diagnoses import ADDITIONAL_GROUP, GROUPS, InvalidDiagnosis

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "@navikt" / "diagnosekoder"
SCRIPT = ROOT / "bin" / "update-icd10-names"
needs_package = pytest.mark.skipif(
    not (PACKAGE / "lib" / "ICD10.json").is_file(),
    reason="node_modules/@navikt/diagnosekoder is not installed (make node)",
)


def committed_rows() -> list[dict[str, str]]:
    lines = [
        line
        for line in diagnoses.OFFICIAL_FILE.read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
    ]
    return list(csv.DictReader(lines))


def package_names() -> dict[str, str]:
    entries = json.loads((PACKAGE / "lib" / "ICD10.json").read_text(encoding="utf-8"))
    return {entry["code"]: entry["text"] for entry in entries}


# --- The committed copy -------------------------------------------------------------------------


@needs_package
@pytest.mark.slow
def test_the_committed_file_is_the_installed_package() -> None:
    checked = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    package = package_names()
    rows = committed_rows()
    assert len(rows) == len(package) == 19_634
    assert {row["code"]: row["name_nb"] for row in rows} == package
    version = json.loads((PACKAGE / "package.json").read_text(encoding="utf-8"))["version"]
    header = diagnoses.OFFICIAL_FILE.read_text(encoding="utf-8")[:600]
    assert f"@navikt/diagnosekoder {version}" in header
    assert "MIT" in header


def test_the_committed_file_names_its_source_and_holds_the_national_codes() -> None:
    header = diagnoses.OFFICIAL_FILE.read_text(encoding="utf-8")[:600]
    assert "@navikt/diagnosekoder" in header and "helsedirektoratet" in header
    codes = {row["code"] for row in committed_rows()}
    assert {"M5496", "M4316", "S1200", "C412"} <= codes


@needs_package
@pytest.mark.parametrize(
    "code", ["C41.2", "C79.5", "C77.00", "M54.96", "M54.2", "M47.2", "M51.1", "S12.00", "G83.4"]
)
def test_names_are_those_of_the_package(code: str) -> None:
    found = diagnoses.lookup(code)
    assert found is not None
    assert found.name_nb == package_names()[found.code]
    assert not found.name_is_fallback


# --- Norwegian names for the codes the registry uses ---------------------------------------------


def test_every_code_of_the_nnrr_groups_and_of_m40_m54_has_a_norwegian_name() -> None:
    in_groups = {
        d.code
        for group in GROUPS
        if group.number != ADDITIONAL_GROUP
        for d in diagnoses.codes_in_group(group.number)
    }
    dorsopathies = {code for code in diagnoses.all_codes() if "M40" <= code[:3] <= "M54"}
    neoplasms = {code for code in in_groups if code.startswith("C")}
    # The C codes were the gap: shown with their English WHO titles.
    assert len(neoplasms) > 400
    assert len(dorsopathies) > 700
    fallback = sorted(
        code
        for code in in_groups | dorsopathies
        if diagnoses.lookup(code).name_is_fallback  # type: ignore[union-attr]
    )
    assert fallback == []


def test_the_neoplasm_groups_show_the_official_names() -> None:
    official = diagnoses.load_official()
    for diagnosis in diagnoses.codes_in_group(13):
        assert diagnosis.name_nb == official[diagnosis.code], diagnosis.code


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("ryggsøyle", "C41.2"),  # Ondartet svulst i ryggsøyle
        ("metastase knokler", "C79.5"),  # Metastase i knokler og benmarg
        ("ondartet ryggmarg", "C72.0"),
    ],
)
def test_a_norwegian_word_finds_a_neoplasm(query: str, code: str) -> None:
    assert code in [d.display for d in diagnoses.search(query, limit=50)]


def test_the_registrys_own_name_comes_before_the_official_one() -> None:
    carpal = diagnoses.lookup("G56.0")
    assert carpal is not None and carpal.name_nb == "Carpal tunnel syndrome"  # as stored
    # The official wording still finds it.
    assert "G56.0" in [d.display for d in diagnoses.search("karpaltunnelsyndrom")]


def test_search_terms_of_the_names_file_still_find_their_codes() -> None:
    assert diagnoses.search("Bekhterev")[0].display == "M45"
    assert "S32.0" in [d.display for d in diagnoses.search("lendevirvel")]
    assert "M54.2" in [d.display for d in diagnoses.search("cervikalgi")]
    assert "C79.5" in [d.display for d in diagnoses.search("skjelettmetastase")]


def test_the_names_file_gives_no_name_the_official_list_has() -> None:
    official = diagnoses.load_official()
    named_twice = [
        code
        for code, (name, _terms) in diagnoses._load_names().items()
        if name and code in official
    ]
    assert named_twice == []


# --- Which official codes can be chosen ----------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("S12.00", "Brudd i 1. cervikalvirvel;lukket"),
        ("D37.00", None),
        ("M54.0", "Pannikulitt som angår nakke- og ryggregion"),  # and its site codes
        ("M54.00", "Pannikulitt nakke/ryggreg;fler lokal column"),
    ],
)
def test_official_codes_the_who_list_lacks_are_accepted(code: str, name: str | None) -> None:
    found = diagnoses.validate_code(code)
    assert found.display == code
    assert not found.name_is_fallback
    if name:
        assert found.name_nb == name


def test_fracture_codes_of_the_official_list_are_in_the_fracture_group() -> None:
    assert diagnoses.lookup("S12.00").groups == (14,)  # type: ignore[union-attr]
    assert "S12.01" in [d.display for d in diagnoses.codes_in_group(14)]


def test_a_code_the_official_list_subdivides_asks_for_a_more_specific_one() -> None:
    with pytest.raises(InvalidDiagnosis, match=r"«D37\.0» har underkoder.*\(D37\.00–D37\.01\)"):
        diagnoses.validate_code("D37.0")


def test_a_who_code_the_norwegian_list_leaves_out_is_refused() -> None:
    with pytest.raises(InvalidDiagnosis, match="ikke en kode i den norske ICD-10"):
        diagnoses.validate_code("C15.0")
    assert diagnoses.lookup("C15.0") is None
    assert "C15.0" not in [d.display for d in diagnoses.codes_in_group(13)]


@pytest.mark.parametrize("raw", ["V0n0a", "V0N0A", "I210a"])
def test_the_national_range_codes_are_not_offered(raw: str) -> None:
    assert diagnoses.lookup(raw) is None
