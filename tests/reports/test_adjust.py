"""Patient-mix adjustment: harder patients give an adjusted share above the crude one."""

from __future__ import annotations

import random
from typing import Any

import pytest
from django.urls import reverse

from nnrr.reports import adjust
from nnrr.reports import indicators as ind
from tests.conftest import HAUKELAND, ST_OLAVS
from tests.reports.builders import course


@pytest.fixture
def mixed(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both units help each kind of patient equally, but Haukeland gets the severe ones:
    success is likely with mild baseline ODI (20) and unlikely with severe (60)."""
    monkeypatch.setattr(adjust, "MIN_ROWS", 40)
    rng = random.Random(4)
    for unit, severe_share in ((ST_OLAVS, 0.2), (HAUKELAND, 0.8)):
        for _ in range(40):
            severe = rng.random() < severe_share
            odi0 = 60 if severe else 20
            success = rng.random() < (0.2 if severe else 0.7)
            course(
                unit,
                "2024-02-01",
                clinician={},
                baseline={},
                baseline_scores={"OdiScore": odi0},
                six={"UseOfTreatment": 2 if success else 5},
            )


def test_adjustment_accounts_for_harder_patients(mixed: None) -> None:
    result = adjust.adjusted(ind.BY_ID["nnrr_bedring_av_behandling"], 2024)
    assert result is not None
    so, hus = result[ST_OLAVS], result[HAUKELAND]
    crude_so, crude_hus = so.observed / so.denominator, hus.observed / hus.denominator
    assert crude_hus < crude_so  # Haukeland looks worse before adjustment
    assert hus.value > crude_hus and so.value < crude_so  # adjustment moves both toward equal
    assert abs(hus.value - so.value) < abs(crude_hus - crude_so)
    assert hus.low <= hus.value <= hus.high


def test_too_few_courses_are_not_adjusted(db: Any) -> None:
    assert adjust.adjusted(ind.BY_ID["nnrr_bedring_av_behandling"], 2024) is None
    assert adjust.adjusted(ind.BY_ID["nnrr_tverrfaglig_behandling"], 2024) is None  # process


def test_report_shows_the_adjusted_column(
    mixed: None, as_persona: Any, settings: Any, tmp_path: Any
) -> None:
    override = tmp_path / "t.toml"
    override.write_text("[presentation]\nmin_denominator = 1\n")
    settings.REPORTS_CONFIG = str(override)
    page = as_persona("report_reader").get(
        reverse("reports:show"),
        {
            "rapport": "indikatorer",
            "fra": "2024",
            "til": "2024",
            "sammenligning": "rest",
            "justert": "on",
        },
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "2024 justert for pasientsammensetning" in text
    assert "Justert andel: landets andel" in text
