"""Datakvalitet on a hand-made registry: every figure counted by hand."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.urls import reverse

from nnrr.accounts.models import Unit
from nnrr.questionnaires.models import FormKind, FormStatus
from nnrr.reports import quality
from tests.conftest import HAUKELAND, ST_OLAVS
from tests.reports.builders import course

URL = reverse("reports:quality")


@pytest.fixture
def registry(db: Any) -> None:
    # C1: complete; not employed yet "I arbeid" ticked; NDI not shown (neck not the main problem).
    course(
        ST_OLAVS,
        "2024-03-01",
        clinician={"DiagnosticNumber1": "M545"},
        baseline={"OdiPain": 2, "IsNeckPainMainProblem": 2, "IsEmployed": 0, "S2_Working": True},
    )
    # C2: Behandlerskjema without a pre-treatment form, yet a 6-month form.
    course(
        ST_OLAVS,
        "2024-04-01",
        clinician={"DiagnosticNumber1": "M545"},
        six={"UseOfTreatment": 2},
    )
    # C3: pre-treatment form, Behandlerskjema still a draft; ODI left unanswered.
    course(ST_OLAVS, "2024-05-01", clinician_status=FormStatus.KLADD, baseline={"IsEmployed": 1})
    # C4: visit registered before the referral; a diagnosis that is not neck or back related.
    c4 = course(
        ST_OLAVS,
        "2024-06-10",
        referral=dt.date(2024, 6, 10),
        clinician={"DiagnosticNumber1": "J45"},
        baseline={"OdiPain": 1, "IsNeckPainMainProblem": 1, "NdiIntensity": 3},
    )
    c4.responses.filter(kind=FormKind.CLINICIAN).update(
        answers={"DiagnosticNumber1": "J45", "S1b_DateOfCompletion": "2024-06-01"}
    )
    # Other year and other unit: not in St. Olavs 2024.
    course(ST_OLAVS, "2023-12-30", clinician={}, baseline={})
    course(HAUKELAND, "2024-03-03", clinician={}, baseline={})


def _findings(result: quality.UnitQuality) -> dict[str, tuple[int, int]]:
    return {f.key: (f.count, f.of) for f in (*result.relations, *result.checks)}


def test_a_units_figures_counted_by_hand(registry: None) -> None:
    (result,) = quality.assess(units=[Unit.objects.get(pk=ST_OLAVS)], year=2024)
    assert result.courses == 4
    assert result.forms == {"1b": 3, "1a": 3, "2": 1, "3": 0}
    assert _findings(result) == {
        "1b_uten_1a": (1, 3),  # C2 of C1, C2, C4
        "1a_uten_1b": (1, 3),  # C3 of C1, C3, C4
        "6mnd_uten_1a": (1, 1),  # C2
        "12mnd_uten_1a": (0, 0),
        "1b_sent": (3, 3),  # the forms here were completed today, long after 2024
        "1a_sent": (3, 3),
        "besok_for_henvisning": (1, 3),  # C4
        "besok_etter_ferdigstilt": (0, 3),
        "6mnd_for_tidlig": (0, 1),
        "diagnose_ikke_nakke_rygg": (1, 3),  # C4's J45
        "ikke_ansatt_i_arbeid": (1, 1),  # C1
    }
    items = {i.item_id: i for i in result.items["1a"]}
    # OdiPain: answered in C1 and C4, shown and unanswered in C3.
    assert (items["OdiPain"].not_answered, items["OdiPain"].not_shown) == (1, 0)
    # NdiIntensity: answered in C4, not shown in C1 and C3 (neck not the main problem).
    assert (items["NdiIntensity"].not_answered, items["NdiIntensity"].not_shown) == (0, 2)
    assert items["NdiIntensity"].missing_text == "66,7 %"
    assert "Treatment_Other" not in {i.item_id for i in result.items["1b"]}  # free text


def test_local_admin_sees_own_unit_and_downloads_csv(as_persona: Any, registry: None) -> None:
    client = as_persona("local_admin")
    page = client.get(URL, {"aar": "2024", "enhet": str(HAUKELAND)})
    assert page.status_code == 200
    text = page.content.decode()
    assert "St. Olavs 2024" in text and "Haukeland 2024" not in text
    assert "Datakvalitet" in text
    download = client.get(URL, {"aar": "2024", "format": "csv"})
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig")), delimiter=";"))
    assert {r["enhet_resh"] for r in rows} == {str(ST_OLAVS)}
    odi = next(r for r in rows if r["skjema"] == "1a" and r["variabel"] == "OdiPain")
    assert (odi["antall"], odi["ikke_svart"], odi["ikke_vist"]) == ("3", "1", "0")
    c2 = next(r for r in rows if r["variabel"] == "1b_uten_1a")
    assert (c2["del"], c2["antall"], c2["ikke_svart"]) == ("forhold", "3", "1")


def test_the_secretariat_sees_every_unit(as_persona: Any, registry: None) -> None:
    client = as_persona("national_admin")
    text = client.get(URL, {"aar": "2024", "enhet": "alle"}).content.decode()
    assert "St. Olavs 2024" in text and "Haukeland 2024" in text
    one = client.get(URL, {"aar": "2024", "enhet": str(HAUKELAND)}).content.decode()
    assert "Haukeland 2024" in one and "St. Olavs 2024" not in one


def test_other_roles_are_refused(as_persona: Any, db: Any) -> None:
    assert as_persona("report_reader").get(URL).status_code == 403
    assert as_persona("clinician").get(URL).status_code == 403


@pytest.mark.parametrize("params", [{"aar": "20x4"}, {"aar": "1999"}, {"aar": "9999"}])
def test_a_bad_year_gets_a_message(as_persona: Any, db: Any, params: dict[str, str]) -> None:
    response = as_persona("local_admin").get(URL, params)
    assert response.status_code == 400
    assert "Velg et år mellom" in response.content.decode()


def test_an_unknown_unit_gets_a_message(as_persona: Any, db: Any) -> None:
    response = as_persona("national_admin").get(URL, {"aar": "2024", "enhet": "123"})
    assert response.status_code == 400
    assert "Ukjent enhet" in response.content.decode()
