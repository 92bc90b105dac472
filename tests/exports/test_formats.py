"""Every format read back by its own reader, with values and labels intact."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pyreadstat
import pytest
import pyzipper
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.accounts.profiles import Profile
from nnrr.exports.query import ExportFilters
from nnrr.exports.services import ExportOptions, export_to_file
from nnrr.lib.national_id import NationalIdError, parse_national_id
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, Response
from tests.exports.conftest import FORMULA, open_archive

pytestmark = pytest.mark.django_db

TABLES = [
    "Behandlerskjema",
    "Pasientskjema_foer_behandling",
    "Pasientskjema_6_maaneder",
    "Pasientskjema_12_maaneder",
    "Forlop",
]


def run_export(
    persona: Any, tmp_path: Path, fmt: str, *, identifiable: bool = False, **options: Any
) -> tuple[dict[str, bytes], str]:
    who = persona("local_admin")
    profile = Profile.from_membership(who.membership)
    out = tmp_path / f"export-{fmt}.zip"
    password, _result = export_to_file(
        actor=who.actor,
        profile=profile,
        filters=ExportFilters(**options.pop("filters", {})),
        options=ExportOptions(format=fmt, identifiable=identifiable, **options),
        purpose="Kvalitetsarbeid ved enheten",
        out=out,
    )
    return open_archive(out, password), password


def read_csv(data: bytes, delimiter: str = ";") -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel reads æøå"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_tables_have_the_registry_columns_and_link_up(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "csv")
    assert {f"{t}.csv" for t in TABLES} | {"Kodebok.csv", "Kodebok_lang.csv", "README.txt"} == set(
        files
    )
    main = read_csv(files["Behandlerskjema.csv"])
    pre = read_csv(files["Pasientskjema_foer_behandling.csv"])
    six = read_csv(files["Pasientskjema_6_maaneder.csv"])
    # Three consenting St. Olavs courses; the one without consent and Haukeland's are left out.
    assert len(main) == 3 and len(pre) == 3 and len(six) == 2
    for column in (
        "PasientGUID",
        "SkjemaGUID",
        "HovedskjemaGUID",
        "UnitId",
        "SykehusNavn",
        "FormTypeId",
        "MajorVersion",
        "MinorVersion",
        "FormStatus",
        "FormDate",
        "LastUpdate",
        "PatientAge",
        "PatientGender",
        "S1b_DateOfCompletion",
        "BackSurgery",
        "DiagnosticNumber1",
        "DiagnosticNumber1Type",
    ):
        assert column in main[0], column
    for column in (
        "DateOfCompletion",
        "OdiScore",
        "NdiScore",
        "HSCL10Score",
        "FABQScore1",
        "FABQScore2",
        "Score_EQ5DL",
        "NofPainRegions",
        "OdiPain",
    ):
        assert column in pre[0], column
    assert {r["UnitId"] for r in main} == {"104293"}
    main_ids = {r["SkjemaGUID"] for r in main}
    assert {r["HovedskjemaGUID"] for r in pre} == main_ids
    assert all(r["HovedskjemaGUID"] == r["SkjemaGUID"] for r in main)
    by_main = {r["SkjemaGUID"]: r for r in main}
    for row in pre:
        # Besøksdato on every form, and the same patient pseudonym across the course's forms.
        assert (
            row["S1b_DateOfCompletion"] == by_main[row["HovedskjemaGUID"]]["S1b_DateOfCompletion"]
        )
        assert row["PasientGUID"] == by_main[row["HovedskjemaGUID"]]["PasientGUID"]
    # Values as stored: the first course's Behandlerskjema and its ODI.
    course = st_olavs_data["courses"][0]
    stored = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    row = by_main[str(stored.pk)]
    assert row["S1b_DateOfCompletion"] == stored.answers["S1b_DateOfCompletion"]
    assert row["BackSurgery"] == str(stored.answers["BackSurgery"])
    assert row["PatientGender"] == {"M": "1", "F": "2"}[course.patient.sex]
    visit = dt.date.fromisoformat(stored.answers["S1b_DateOfCompletion"])
    born = course.patient.birth_date
    age = visit.year - born.year - ((visit.month, visit.day) < (born.month, born.day))
    assert row["PatientAge"] == str(age)
    pre_stored = Response.objects.get(course=course, kind=FormKind.PRE_TREATMENT)
    pre_row = next(r for r in pre if r["SkjemaGUID"] == str(pre_stored.pk))
    odi = pre_stored.scores["OdiScore"]
    expected = "" if odi is None else f"{odi:g}".replace(".", ",")
    assert pre_row["OdiScore"] == expected, "decimal comma with the ; delimiter"


def test_course_table_suffixes_every_patient_form_column(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "csv", delimiter=",")
    rows = read_csv(files["Forlop.csv"], ",")
    assert len(rows) == 3
    header = list(rows[0])
    pre_header = list(read_csv(files["Pasientskjema_foer_behandling.csv"], ",")[0])
    six_header = list(read_csv(files["Pasientskjema_6_maaneder.csv"], ",")[0])

    def suffixed(suffix: str) -> list[str]:
        return [h for h in header if h.endswith(suffix) and not h.startswith("regstatus")]

    assert [f"{c}_pre" for c in pre_header] == suffixed("_pre")
    assert [f"{c}_post" for c in six_header] == suffixed("_post")
    assert "OdiScore_post2" in header and "PasientGUID_post2" in header
    for flag in (
        "regstatus_pre",
        "regstatus_post",
        "regstatus_post2",
        "Henvisningsdato",
        "VentetidFraHenvisningTilBesok",
    ):
        assert flag in header
    newest = max(rows, key=lambda r: r["S1b_DateOfCompletion"])
    assert (newest["regstatus_pre"], newest["regstatus_post"], newest["regstatus_post2"]) == (
        "1",
        "0",
        "0",
    )
    assert newest["OdiScore_post"] == "" and newest["SkjemaGUID_post"] == ""
    assert newest["VentetidFraHenvisningTilBesok"] == "40"


def test_codebook_and_readme(persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path) -> None:
    files, _ = run_export(persona, tmp_path, "csv")
    codebook = read_csv(files["Kodebok.csv"])
    back = next(
        r for r in codebook if r["tabell"] == "Behandlerskjema" and r["variabel"] == "BackSurgery"
    )
    # The registry codes a shown, unanswered item "0 = Ikke utfylt" (its codebook).
    assert back["koder"] == "0 = Ikke utfylt; 1 = Ja; 2 = Nei; 3 = Ukjent"
    assert back["skjemaversjon"] == "1.0"
    assert back["etikett"] == "Tidligere operert i ryggen?"
    gender = next(r for r in codebook if r["variabel"] == "PatientGender")
    assert gender["koder"] == "1 = Mann; 2 = Kvinne"
    readme = files["README.txt"].decode()
    assert "Kvalitetsarbeid ved enheten" in readme and "Lise Lokal" in readme
    assert "Behandlerskjema: 3" in readme and "Identifiserbar: nei" in readme


def test_de_identified_export_has_no_national_id_name_or_free_text(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "csv")
    text = b"".join(files.values()).decode("utf-8", errors="replace")
    for candidate in re.findall(r"(?<!\d)\d{11}(?!\d)", text):
        with pytest.raises(NationalIdError):
            parse_national_id(candidate)
    for patient in st_olavs_data["patients"]:
        assert patient.name not in text
        assert patient.national_id not in text
        assert patient.birth_date.isoformat() not in text
    assert "HYPERLINK" not in text and "farlig" not in text
    header = read_csv(files["Behandlerskjema.csv"])[0]
    assert "Treatment_Other" not in header and "Fodselsnummer" not in header


def test_identifiable_export_adds_national_id_and_name(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "csv", identifiable=False)
    assert "Fodselsnummer" not in files["Behandlerskjema.csv"].decode("utf-8-sig")
    who = persona("local_admin")
    who.membership.can_export_identifiable = True
    who.membership.save()
    files, _ = (
        run_export(persona, tmp_path / "id", "csv", identifiable=True)
        if ((tmp_path / "id").mkdir() or True)
        else ({}, "")
    )
    rows = read_csv(files["Behandlerskjema.csv"])
    patients = {p.national_id: p.name for p in st_olavs_data["patients"]}
    assert {r["Fodselsnummer"]: r["Navn"] for r in rows} == patients
    first = next(r for r in rows if r["Navn"] == "Signe Eksportsen")
    # Free text comes with identifiable exports, made inert for spreadsheets.
    assert first["Treatment_Other"] == "'" + FORMULA
    assert first["RadiologicalF_Other"] == "'-farlig"


def test_pseudonym_is_stable_across_exports_and_per_export_key_unlinks(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir(), (tmp_path / "c").mkdir()
    first, _ = run_export(persona, tmp_path / "a", "csv")
    second, _ = run_export(persona, tmp_path / "b", "csv")
    third, _ = run_export(persona, tmp_path / "c", "csv", per_export_key=True)

    def ids(files: dict[str, bytes], column: str) -> set[str]:
        return {r[column] for r in read_csv(files["Behandlerskjema.csv"])}

    assert ids(first, "PasientGUID") == ids(second, "PasientGUID")
    assert not ids(first, "PasientGUID") & ids(third, "PasientGUID")
    assert not ids(first, "SkjemaGUID") & ids(third, "SkjemaGUID")
    pre = read_csv(third["Pasientskjema_foer_behandling.csv"])
    assert {r["HovedskjemaGUID"] for r in pre} == ids(third, "SkjemaGUID"), "still linked inside"


def _export_as(persona: Any, key: str, tmp_path: Path) -> tuple[dict[str, bytes], list[dict]]:
    who = persona(key)
    tmp_path.mkdir()
    out = tmp_path / "export.zip"
    password, _result = export_to_file(
        actor=who.actor,
        profile=Profile.from_membership(who.membership),
        filters=ExportFilters(),
        options=ExportOptions(format="csv"),
        purpose="Kvalitetsarbeid",
        out=out,
    )
    files = open_archive(out, password)
    return files, read_csv(files["Behandlerskjema.csv"])


def test_two_units_de_identified_exports_share_no_pasientguid_for_the_same_person(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    from nnrr.patients.services import register_patient
    from tests.conftest import HAUKELAND
    from tests.exports.conftest import add_course

    # The same person (one fødselsnummer) has a record and a course at both units.
    signe = st_olavs_data["patients"][0]
    at_haukeland = register_patient(
        actor=persona("haukeland_local_admin").actor,
        unit=Unit.objects.get(pk=HAUKELAND),
        national_id=signe.national_id,
        name=signe.name,
        email="signe@example.no",
    )
    add_course(at_haukeland, HAUKELAND, visit=timezone.localdate() - dt.timedelta(days=50))

    _files, st_olavs = _export_as(persona, "local_admin", tmp_path / "stolav")
    _files, haukeland = _export_as(persona, "haukeland_local_admin", tmp_path / "haukeland")
    _again, st_olavs_again = _export_as(persona, "local_admin", tmp_path / "stolav2")

    assert {r["UnitId"] for r in st_olavs} == {"104293"}
    assert {r["UnitId"] for r in haukeland} == {"102959"}
    assert not {r["PasientGUID"] for r in st_olavs} & {r["PasientGUID"] for r in haukeland}
    # Within a unit the pseudonym stays the same from export to export.
    assert {r["PasientGUID"] for r in st_olavs} == {r["PasientGUID"] for r in st_olavs_again}


def test_a_national_export_links_a_persons_courses_across_units_and_says_so(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    from nnrr.patients.services import register_patient
    from tests.conftest import HAUKELAND
    from tests.exports.conftest import add_course

    signe = st_olavs_data["patients"][0]
    at_haukeland = register_patient(
        actor=persona("haukeland_local_admin").actor,
        unit=Unit.objects.get(pk=HAUKELAND),
        national_id=signe.national_id,
        name=signe.name,
        email="signe@example.no",
    )
    add_course(at_haukeland, HAUKELAND, visit=timezone.localdate() - dt.timedelta(days=50))

    files, national = _export_as(persona, "national_admin", tmp_path / "national")
    _files, st_olavs = _export_as(persona, "local_admin", tmp_path / "stolav")

    by_unit: dict[str, set[str]] = {}
    for row in national:
        by_unit.setdefault(row["UnitId"], set()).add(row["PasientGUID"])
    assert by_unit["104293"] & by_unit["102959"], "Signe's two courses share one PasientGUID"
    assert not {r["PasientGUID"] for r in national} & {r["PasientGUID"] for r in st_olavs}
    readme = files["README.txt"].decode("utf-8")
    assert "forløp ved ulike enheter kan kobles" in readme
    unit_readme = _export_as(persona, "local_admin", tmp_path / "stolav2")[0]["README.txt"]
    assert "kan ikke kobles med hverandre" in unit_readme.decode("utf-8")


def test_xlsx_sheets_dates_frozen_header_and_inert_text(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    who = persona("local_admin")
    who.membership.can_export_identifiable = True
    who.membership.save()
    files, _ = run_export(persona, tmp_path, "xlsx", identifiable=True)
    assert set(files) == {"nnrr-eksport.xlsx", "README.txt"}
    book = openpyxl.load_workbook(io.BytesIO(files["nnrr-eksport.xlsx"]))
    assert book.sheetnames == [*TABLES, "Kodebok", "Kodebok_lang"]
    sheet = book["Behandlerskjema"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    rows = [
        dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)
    ]
    assert len(rows) == 3
    first = next(r for r in rows if r["Navn"] == "Signe Eksportsen")
    assert isinstance(first["S1b_DateOfCompletion"], dt.datetime)
    assert isinstance(first["LastUpdate"], dt.datetime)
    assert isinstance(first["UnitId"], int | float) and first["UnitId"] == 104293
    cell = next(c for c in sheet[rows.index(first) + 2] if c.value == FORMULA)
    assert cell.data_type == "s" and cell.quotePrefix, "text, never a formula"
    assert first["OdiScore"] is None if "OdiScore" in first else True


def test_sav_has_variable_and_value_labels(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "sav")
    assert {f"{t}.sav" for t in TABLES} | {"Kodebok.csv", "Kodebok_lang.csv", "README.txt"} == set(
        files
    )
    path = tmp_path / "main.sav"
    path.write_bytes(files["Behandlerskjema.sav"])
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 3
    labels = dict(zip(meta.column_names, meta.column_labels, strict=True))
    assert labels["BackSurgery"] == "Tidligere operert i ryggen?"
    assert meta.variable_value_labels["BackSurgery"] == {
        0.0: "Ikke utfylt",
        1.0: "Ja",
        2.0: "Nei",
        3.0: "Ukjent",
    }
    assert meta.variable_value_labels["PatientGender"] == {1.0: "Mann", 2.0: "Kvinne"}
    stored = {str(r.pk): r for r in Response.objects.filter(kind=FormKind.CLINICIAN)}
    for _, row in frame.iterrows():
        response = stored[row["SkjemaGUID"]]
        assert row["BackSurgery"] == response.answers["BackSurgery"]
        assert row["S1b_DateOfCompletion"] == dt.date.fromisoformat(
            response.answers["S1b_DateOfCompletion"]
        )
    six = tmp_path / "six.sav"
    six.write_bytes(files["Forlop.sav"])
    course_frame, _ = pyreadstat.read_sav(str(six))
    # Missing follow-ups are system-missing, not zero.
    assert course_frame["OdiScore_post"].isna().sum() >= 1


def test_dta_has_labels_and_stata_length_names(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "dta")
    path = tmp_path / "course.dta"
    path.write_bytes(files["Forlop.dta"])
    frame, meta = pyreadstat.read_dta(str(path))
    assert len(frame) == 3
    assert all(len(name) <= 32 for name in meta.column_names)
    assert meta.variable_value_labels["BackSurgery"] == {
        0: "Ikke utfylt",
        1: "Ja",
        2: "Nei",
        3: "Ukjent",
    }
    codebook = read_csv(files["Kodebok.csv"], ",")
    long_name = next(r for r in codebook if len(r["variabel"]) > 32 and r["tabell"] == "Forlop")
    assert long_name["stata_navn"] in meta.column_names
    assert "forkortet" in files["README.txt"].decode()
    # pandas' own reader (not ReadStat) reads the same file with the same values and labels.
    plain = pd.read_stata(path, convert_categoricals=False)
    assert list(plain.columns) == meta.column_names
    assert plain["BackSurgery"].tolist() == frame["BackSurgery"].tolist()
    assert plain["S1b_DateOfCompletion"].dt.date.tolist() == frame["S1b_DateOfCompletion"].tolist()
    with pd.io.stata.StataReader(path) as reader:
        assert reader.value_labels()["BackSurgery"] == {
            0: "Ikke utfylt",
            1: "Ja",
            2: "Nei",
            3: "Ukjent",
        }


def test_r_format_has_script_and_csv_files(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "r")
    assert "les_data.R" in files and "Behandlerskjema.csv" in files
    script = files["les_data.R"].decode()
    assert 'Behandlerskjema = list(\n    fil = "Behandlerskjema.csv",' in script
    assert 'registernavn = "behandlerskjema_1"' in script
    assert (
        '"BackSurgery" = c("0" = "Ikke utfylt", "1" = "Ja", "2" = "Nei", "3" = "Ukjent")' in script
    )
    rows = read_csv(files["Behandlerskjema.csv"], ",")
    assert len(rows) == 3


@pytest.mark.slow
def test_r_script_reads_the_tables_with_labels(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed: the generated les_data.R was not run")
    files, _ = run_export(persona, tmp_path, "r")
    folder = tmp_path / "r"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    check = (
        'source("les_data.R"); stopifnot(nrow(Behandlerskjema) == 3); '
        "stopifnot(all(levels(Behandlerskjema$BackSurgery) == "
        'c("Ikke utfylt", "Ja", "Nei", "Ukjent"))); '
        'stopifnot(inherits(Behandlerskjema$S1b_DateOfCompletion, "Date")); '
        "stopifnot(is.numeric(Pasientskjema_foer_behandling$OdiScore)); "
        'stopifnot(nrow(Forlop) == 3); stopifnot(any(is.na(Forlop$OdiScore_post))); cat("ok")'
    )
    result = subprocess.run(
        ["Rscript", "-e", check], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("ok")


R_TYPE_CHECK = r"""
source("les_data.R")
t <- nnrr_tabeller(faktorer = FALSE)
stopifnot(identical(sort(names(t)), sort(c(
  "behandlerskjema_1", "pasientskjema_foer_behandling_2",
  "pasientskjema_6_maaneder_etter_behandling_3",
  "pasientskjema_12_maaneder_etter_behandling_8", "forlop", "kodebok"))))
registernavn <- sapply(nnrr_definisjoner, function(d) d$registernavn)
forventet <- c(int = "integer", float = "numeric", date = "Date", datetime = "POSIXct",
               string = "character")
kb <- t$kodebok
feil <- character()
for (i in seq_len(nrow(kb))) {
  d <- t[[registernavn[[kb$tabell[i]]]]]
  v <- d[[kb$variabel[i]]]
  if (is.null(v)) {
    feil <- c(feil, paste(kb$tabell[i], kb$variabel[i], "mangler"))
  } else if (!inherits(v, forventet[[kb$type[i]]]) || is.factor(v)) {
    feil <- c(feil, paste(kb$tabell[i], kb$variabel[i], class(v)[1], "ikke", kb$type[i]))
  }
}
for (navn in names(registernavn)) {
  ekstra <- setdiff(names(t[[registernavn[[navn]]]]), kb$variabel[kb$tabell == navn])
  if (length(ekstra)) feil <- c(feil, paste(navn, "uten kodebok:", ekstra))
}
if (length(feil)) { cat(feil, sep = "
"); quit(status = 1) }
hake <- t$pasientskjema_6_maaneder_etter_behandling_3$S2_Working
stopifnot(all(hake %in% c(0L, 1L, NA)), sum(!is.na(hake)) > 0)
med <- nnrr_tabeller(faktorer = TRUE)
stopifnot(is.factor(med$behandlerskjema_1$BackSurgery))
stopifnot(is.integer(t$behandlerskjema_1$BackSurgery))
stopifnot(identical(nrow(med$forlop), nrow(Forlop)))
cat(nrow(kb), "ok")
"""


def test_r_tables_have_the_database_types_column_by_column(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (make readers): nnrr_tabeller() was not run")
    files, _ = run_export(persona, tmp_path, "r")
    folder = tmp_path / "r"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    result = subprocess.run(
        ["Rscript", "-e", R_TYPE_CHECK], cwd=folder, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checked = int(result.stdout.split()[-2])
    assert checked > 800  # every column of the five tables


def test_r_load_reg_data_answers_the_registry_queries(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (make readers): nnrr_loadRegData() was not run")
    files, _ = run_export(persona, tmp_path, "r")
    folder = tmp_path / "r"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    visits = sorted(
        c.responses.get(kind=FormKind.CLINICIAN).answers["S1b_DateOfCompletion"]
        for c in st_olavs_data["courses"]
    )
    # The registry's own query text (nnrrHentRegData), with a line break inside it; the first
    # date is the second visit, passed as an argument.
    check = (
        'source("les_data.R"); '
        'alle <- nnrr_loadRegData("data", "SELECT * FROM behandlerskjema_1"); '
        "fra <- commandArgs(trailingOnly = TRUE)[1]; "
        'sporring <- paste0("SELECT * FROM pasientskjema_foer_behandling_2 WHERE\n '
        "S1b_DateOfCompletion >= '\", fra, \"' AND S1b_DateOfCompletion <= '2099-01-01' \"); "
        'utvalg <- nnrr_loadRegData("data", sporring); '
        "cat(nrow(alle), nrow(utvalg), class(utvalg$S1b_DateOfCompletion)); "
        'tryCatch(nnrr_loadRegData("data", "SELECT * FROM finnes_ikke"), '
        'error = function(e) cat("", conditionMessage(e)))'
    )
    result = subprocess.run(
        ["Rscript", "-e", check, visits[1]],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["3", "2", "Date"]
    assert "Tabellen finnes_ikke er ikke i eksporten." in result.stdout


def test_archive_opens_with_the_password_only(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, password = run_export(persona, tmp_path, "csv")
    assert len(password) >= 20 and not set(password) & set("0O1lI")
    archive = tmp_path / "export-csv.zip"
    with zipfile.ZipFile(archive) as plain, pytest.raises(RuntimeError, match="encrypted"):
        plain.read("Behandlerskjema.csv")
    with pyzipper.AESZipFile(archive) as encrypted:
        assert all(info.flag_bits & 0x1 for info in encrypted.infolist())
        encrypted.setpassword(b"feil-passord-feil-passord")
        with pytest.raises(RuntimeError, match="Bad password"):
            encrypted.read("Behandlerskjema.csv")
        encrypted.setpassword(password.encode())
        assert encrypted.read("Behandlerskjema.csv") == files["Behandlerskjema.csv"]
    assert b"Behandlerskjema" not in archive.read_bytes().replace(b"Behandlerskjema.csv", b"")


def test_course_filters_apply(persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path) -> None:
    admin = st_olavs_data["admin"]
    course = Course.objects.get(owner=admin.user)
    files, _ = run_export(persona, tmp_path, "csv", filters={"own_only": True, "forms": ("1b",)})
    rows = read_csv(files["Behandlerskjema.csv"])
    assert [r["SkjemaGUID"] for r in rows] == [
        str(Response.objects.get(course=course, kind=FormKind.CLINICIAN).pk)
    ]
    assert "Pasientskjema_foer_behandling.csv" not in files


def test_each_form_row_names_the_wording_it_was_answered_under(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    from django.utils import timezone

    from nnrr.audit.context import Actor
    from nnrr.questionnaires.models import Source
    from nnrr.scheduling import services as scheduling
    from tests.conftest import ST_OLAVS, book, make_patient

    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    answered = scheduling.submit_patient_form(
        actor=Actor.system("test"),
        course=course,
        kind=FormKind.PRE_TREATMENT,
        answers={"FamilyStatus": 1},
        consent=True,
        source=Source.PORTAL,
        now=timezone.now(),
    )
    assert answered.wording["odi"]["id"] == "nnrr-plassholder"
    files, _ = run_export(persona, tmp_path, "csv")
    pre = read_csv(files["Pasientskjema_foer_behandling.csv"])
    by_form = {row["SkjemaGUID"]: row for row in pre}
    row = by_form[str(answered.pk)]
    # The test installation runs on the bundled placeholder wording, and the row says so.
    assert row["Ordlyd_ODI"] == f"nnrr-plassholder {answered.wording['odi']['version']}".strip()
    assert row["Ordlyd_EQ5D5L"].startswith("nnrr-plassholder")
    # Forms stored without a record of their wording have it missing, not guessed.
    assert any(r["Ordlyd_ODI"] == "" for r in pre if r["SkjemaGUID"] != str(answered.pk))
    assert "Ordlyd_ODI" in files["Kodebok.csv"].decode("utf-8-sig")


def test_an_export_without_a_progress_display_writes_every_row(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path, monkeypatch: Any
) -> None:
    from nnrr.exports import services

    monkeypatch.setattr(services, "PROGRESS_EVERY", 1)  # every row is a progress step
    files, _ = run_export(persona, tmp_path, "csv")
    assert len(read_csv(files["Behandlerskjema.csv"])) == 3
    assert len(read_csv(files["Forlop.csv"])) == 3
