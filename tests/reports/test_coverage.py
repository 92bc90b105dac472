"""Coverage entry: own unit (Lokal registeransvarlig) or any unit (secretariat), with history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.urls import reverse
from django.utils import timezone

from nnrr.lib.dates import oslo_date
from nnrr.reports import coverage
from nnrr.reports.models import CoverageEntry
from tests.conftest import HAUKELAND, ST_OLAVS

URL = reverse("reports:coverage")


def _last_half() -> tuple[int, int]:
    return coverage.last_completed_half(oslo_date(timezone.now()))


def test_half_year_arithmetic() -> None:
    assert coverage.last_completed_half(dt.date(2026, 11, 27)) == (2026, 1)
    assert coverage.last_completed_half(dt.date(2026, 3, 1)) == (2025, 2)
    assert coverage.last_completed_half(dt.date(2026, 7, 1)) == (2026, 1)


def test_local_admin_enters_and_corrects_with_history(as_persona: Any, db: Any) -> None:
    client = as_persona("local_admin")
    year, half = _last_half()
    assert client.get(URL).status_code == 200
    first = client.post(URL, {"aar": year, "halvaar": half, "antall": 120, "merknad": ""})
    assert first.status_code == 302
    second = client.post(
        URL, {"aar": year, "halvaar": half, "antall": 110, "merknad": "Feil i første telling"}
    )
    assert second.status_code == 302
    entries = CoverageEntry.objects.filter(unit_id=ST_OLAVS, year=year, half=half)
    assert entries.count() == 2  # the correction did not overwrite
    assert {e.entered_by_name for e in entries} == {"Lise Lokal"}
    page = client.get(URL).content.decode()
    assert "Historikk" in page and "Feil i første telling" in page
    assert "120" in page and "110" in page


def test_a_local_admin_enters_for_own_unit_only(as_persona: Any, db: Any) -> None:
    year, half = _last_half()
    client = as_persona("haukeland_local_admin")
    client.post(URL, {"aar": year, "halvaar": half, "antall": 50, "enhet": str(ST_OLAVS)})
    assert list(CoverageEntry.objects.values_list("unit_id", flat=True)) == [HAUKELAND]


def test_the_secretariat_enters_for_any_unit(as_persona: Any, db: Any) -> None:
    year, half = _last_half()
    client = as_persona("national_admin")
    assert "Kirkenes" in client.get(URL).content.decode()
    client.post(URL, {"aar": year, "halvaar": half, "antall": 40, "enhet": str(HAUKELAND)})
    assert list(CoverageEntry.objects.values_list("unit_id", flat=True)) == [HAUKELAND]


def test_roles_without_the_coverage_task_are_refused(as_persona: Any, db: Any) -> None:
    assert as_persona("report_reader").get(URL).status_code == 403
    assert as_persona("clinician").get(URL).status_code == 403


def test_bad_input_gets_a_message(as_persona: Any, db: Any) -> None:
    client = as_persona("local_admin")
    for bad in (
        {"aar": "2024", "halvaar": "1", "antall": "-3"},
        {"aar": "2024", "halvaar": "1", "antall": "mange"},
        {"aar": "1999", "halvaar": "1", "antall": "10"},
        {"aar": "2024", "halvaar": "3", "antall": "10"},
    ):
        response = client.post(URL, bad)
        assert response.status_code == 400
        assert 'class="ds-validation-message"' in response.content.decode()
    assert not CoverageEntry.objects.exists()


def test_front_page_reminds_when_the_last_half_year_is_missing(as_persona: Any, db: Any) -> None:
    year, half = _last_half()
    client = as_persona("local_admin")
    page = client.get(reverse("patients:front")).content.decode()
    assert f"antall aktuelle pasienter for {half}. halvår {year} er ikke registrert" in page
    client.post(URL, {"aar": year, "halvaar": half, "antall": 99})
    page = client.get(reverse("patients:front")).content.decode()
    assert "er ikke registrert" not in page
    # The secretariat sees how many units are missing; a clinician gets no reminder.
    admin_page = as_persona("national_admin").get(reverse("patients:front")).content.decode()
    assert "enheter har ikke registrert" in admin_page
    clinician_page = as_persona("clinician").get(reverse("patients:front")).content.decode()
    assert "Dekningsgrad:" not in clinician_page
