"""The columns and coding the registry's own database and R code expect, in every format."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
from django.utils import timezone

from nnrr.exports.registry import REGISTRY_TABLES
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from tests.conftest import ST_OLAVS, make_patient
from tests.exports.conftest import add_course
from tests.exports.test_formats import read_csv, run_export

pytestmark = pytest.mark.django_db

# The columns the registry's data preparation and figures stopped on (issue list), by table.
REGISTRY_READS = {
    "Behandlerskjema": [
        "VentetidFraHenvisningTilBesok",
        "VentetidFraHenvisningTilTilbud",
        "Treatment_IndividualFollowUp1to2Times",
        "Treatment_GroupInterdisciplinary",
        "Treatment_ControlAfterReviewOrTreatment",
        "Treatment_FollowUpManuellTerapeut",
        "Working",
        "SickLeave",
        "Stay_at_home",
        "Student",
        "Unemployed",
        "NAV",
        "Pension",
        "RetirementPension",
    ],
    "Pasientskjema_foer_behandling": [
        "PainDisable",
        "PainCompensation",
        "ProfessionWantedBack",
        "WorkingStatus",
        "Eq5dScore_Old",
        "Eq5dScore",
        "Eq5dHealthLevel",
        "Eq5dSatisfactionTreatment",
        "DateOfCompletion",
        "S1b_DateOfCompletion",
    ],
    "Pasientskjema_6_maaneder": [
        "TreatmentPostHospital",
        "TreatmentPostHospitalSurgery",
        "TreatmentPhysioTherapistOther",
        "Eq5dScore",
        "Eq5dScore_Old",
        "Eq5dHealthLevel",
        "Eq5dSatisfactionTreatment",
    ],
}
FORLOP_READS = [
    "VentetidFraHenvisningTilBesok",
    "PainDisable_pre",
    "Eq5dScore_Old_post",
    "Eq5dHealthLevel_post",
    "DateOfCompletion_post2",
    "S1b_DateOfCompletion_post",
]


@pytest.mark.parametrize("fmt", ["csv", "r", "xlsx", "sav", "dta"])
def test_every_column_the_registry_code_reads_is_in_every_format(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path, fmt: str
) -> None:
    files, _ = run_export(persona, tmp_path, fmt)
    wanted = {**REGISTRY_READS, "Forlop": FORLOP_READS}
    codebook = list(
        csv.DictReader(
            io.StringIO(files.get("Kodebok.csv", b"").decode("utf-8-sig")),
            delimiter=";" if fmt == "csv" else ",",
        )
    )
    stata = {(r["tabell"], r["variabel"]): r.get("stata_navn") for r in codebook}
    for table, names in wanted.items():
        if fmt in ("csv", "r"):
            header = next(csv.reader(io.StringIO(files[f"{table}.csv"].decode("utf-8-sig"))))
            if fmt == "csv":
                header = header[0].split(";") if len(header) == 1 else header
        elif fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(files["nnrr-eksport.xlsx"]), read_only=True)
            header = [c.value for c in next(book[table].iter_rows(max_row=1))]
        else:
            path = tmp_path / f"{table}.{fmt}"
            path.write_bytes(files[f"{table}.{fmt}"])
            reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
            _frame, meta = reader(str(path), metadataonly=True)
            header = meta.column_names
            if fmt == "dta":  # Stata's 32-character names, as the codebook lists them
                names = [stata.get((table, n)) or n for n in names]
        missing = [n for n in names if n not in header]
        assert not missing, (table, missing)


def test_items_we_do_not_ask_are_empty_and_marked_in_the_codebook(
    persona: Any, st_olavs_data: dict[str, Any], tmp_path: Path
) -> None:
    files, _ = run_export(persona, tmp_path, "csv")
    pre = read_csv(files["Pasientskjema_foer_behandling.csv"])
    six = read_csv(files["Pasientskjema_6_maaneder.csv"])
    main = read_csv(files["Behandlerskjema.csv"])
    # Not asked: present and empty, never a 5L value under a 3L name.
    assert {r["Eq5dScore"] for r in pre + six} == {""}
    assert {r["PainDisable"] for r in pre} == {""}
    assert {r["Treatment_GroupInterdisciplinary"] for r in main} == {""}
    # Measured by one of our items: the VAS and, at 6 months, satisfaction with the treatment.
    answers = {
        r.course_id: r.answers
        for r in Response.objects.filter(kind=FormKind.FOLLOW_UP_6, course__unit_id=ST_OLAVS)
    }
    vas = {a.get("Eq5d_L_spm6") for a in answers.values()}
    assert {int(r["Eq5dHealthLevel"]) for r in six if r["Eq5dHealthLevel"]} <= vas
    assert any(r["Eq5dHealthLevel"] for r in six)
    assert all(r["Eq5dSatisfactionTreatment"] == r["TreatmentSatisfaction"] for r in six)
    # Besøksdato − Henvisningsdato (the test courses are referred 40 days before the visit).
    assert {r["VentetidFraHenvisningTilBesok"] for r in main} == {"40"}
    assert {r["FormTypeId"] for r in main} == {"1"} and {r["FormTypeId"] for r in six} == {"3"}
    codebook = {
        (r["tabell"], r["variabel"]): r
        for r in csv.DictReader(
            io.StringIO(files["Kodebok.csv"].decode("utf-8-sig")), delimiter=";"
        )
    }
    assert codebook[("Pasientskjema_foer_behandling", "PainDisable")]["skjemaversjon"] == (
        "ikke i dette skjemaet"
    )
    assert codebook[("Pasientskjema_6_maaneder", "Eq5dHealthLevel")]["skjemaversjon"] == ""
    long = list(
        csv.DictReader(io.StringIO(files["Kodebok_lang.csv"].decode("utf-8-sig")), delimiter=";")
    )
    disable = [r for r in long if r["variabel"] == "PainDisable" and r["tabell"].startswith("Pas")]
    assert [(r["kode"], r["kodetekst"]) for r in disable] == [
        ("0", "Ikke utfylt"),
        ("1", "Ja"),
        ("2", "Nei"),
        ("3", "Ukjent"),
    ]
    assert {r["felttype"] for r in disable} == {"Enkeltvalg"}
    assert "ikke i dette skjemaet" in disable[0]["etikett"]
    uhi = [r for r in long if r["variabel"] == "UhiQ1"]
    assert uhi[0]["kode"] == "-1" and uhi[0]["kodetekst"] == "Ikke svart"
    types = {(r["tabell"], r["variabel"]): r["felttype"] for r in long}
    assert types[("Pasientskjema_6_maaneder", "S2_Working")] == "Avkrysning"
    assert types[("Behandlerskjema", "S1b_DateOfCompletion")] == "Dato"
    assert types[("Pasientskjema_foer_behandling", "OdiScore")] == "Numerisk"
    assert types[("Behandlerskjema", "SkjemaGUID")] == "Tekst"


def test_shown_unanswered_items_carry_the_registry_code_and_hidden_items_stay_empty(
    persona: Any, tmp_path: Path
) -> None:
    persona("local_admin")
    patient = make_patient(ST_OLAVS, name="Ikke Svart", born=dt.date(1970, 1, 1))
    unanswered = dict.fromkeys(("OdiPain", "UhiQ4", "FamilyStatus", "PainExperiencesActivity"))
    no_ndi = {"IsNeckPainMainProblem": 2} | {f"Ndi{k}": None for k in ("Intensity", "Lift")}
    course = add_course(
        patient,
        ST_OLAVS,
        visit=timezone.localdate() - dt.timedelta(days=60),
        seed=3,
        follow_ups=(),
        pre_extra=unanswered | no_ndi,
    )
    files, _ = run_export(persona, tmp_path, "csv")
    (row,) = read_csv(files["Pasientskjema_foer_behandling.csv"])
    assert (row["OdiPain"], row["UhiQ4"], row["FamilyStatus"]) == ("0", "-1", "0")
    assert row["NdiIntensity"] == ""  # not shown: not "Ikke svart"
    assert row["PainExperiencesActivity"] == ""  # 0 is an answer on this scale, never a code
    # A form not completed carries no codes for what is still to be answered.
    Response.objects.create(
        course=course,
        kind=FormKind.FOLLOW_UP_12,
        status=FormStatus.KLADD,
        answers={"OdiLift": 2},
        definition_version=get_definition(FormKind.FOLLOW_UP_12).version,
    )
    files, _ = run_export(
        persona,
        tmp_path,
        "csv",
        filters={"statuses": (FormStatus.KLADD.value,), "forms": (FormKind.FOLLOW_UP_12.value,)},
    )
    (draft,) = read_csv(files["Pasientskjema_12_maaneder.csv"])
    assert (draft["OdiLift"], draft["OdiPain"]) == ("2", "")


def test_a_period_by_visit_keeps_forms_whose_visit_is_not_registered_yet(
    persona: Any, tmp_path: Path
) -> None:
    persona("local_admin")
    today = timezone.localdate()
    patient = make_patient(ST_OLAVS, name="Uten Besoksdato", born=dt.date(1980, 5, 5))
    course = add_course(
        patient, ST_OLAVS, visit=today - dt.timedelta(days=10), seed=4, follow_ups=()
    )
    main = course.responses.get(kind=FormKind.CLINICIAN)
    answers = {k: v for k, v in main.answers.items() if k != "S1b_DateOfCompletion"}
    Response.objects.filter(pk=main.pk).update(answers=answers, status=FormStatus.KLADD)
    period = {"date_from": today - dt.timedelta(days=60), "date_to": today}
    files, _ = run_export(persona, tmp_path, "csv", filters=period)
    pre = read_csv(files["Pasientskjema_foer_behandling.csv"])
    assert len(pre) == 1 and pre[0]["S1b_DateOfCompletion"] == ""
    readme = files["README.txt"].decode()
    assert "skjemaets egen dato" in readme and "Pasientskjemaene" in readme
    # Outside the period by its own form date: not exported.
    old = {"date_from": today - dt.timedelta(days=400), "date_to": today - dt.timedelta(days=100)}
    files, _ = run_export(persona, tmp_path, "csv", filters=old)
    assert read_csv(files["Pasientskjema_foer_behandling.csv"]) == []


def test_registry_table_names() -> None:
    assert sorted(REGISTRY_TABLES.values()) == [
        "behandlerskjema_1",
        "pasientskjema_12_maaneder_etter_behandling_8",
        "pasientskjema_6_maaneder_etter_behandling_3",
        "pasientskjema_foer_behandling_2",
    ]
