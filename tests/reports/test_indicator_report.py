"""«Kvalitetsindikatorer» (``reports/content/indicators.py``) as a reader sees it: the thresholds
of indicators.md (N<30, the coverage flag) and the targets, all read from the report
configuration, and the units in order of their share."""

from __future__ import annotations

from typing import Any

import pytest

from nnrr.accounts.models import Unit
from nnrr.reports import config as report_config
from nnrr.reports import content
from nnrr.reports import indicators as ind
from nnrr.reports.stats import Share
from tests.conftest import HAUKELAND, ST_OLAVS, UNN_TROMSO
from tests.reports.builders import course, coverage

pytestmark = pytest.mark.django_db

TEAM = {"Treatment_InvidualInterdisciplinary": 1, "Treatment_GroupInterdisciplinary2018": 0}


def configure(tmp_path: Any, settings: Any, text: str) -> None:
    override = tmp_path / "targets.toml"
    override.write_text(text)
    settings.REPORTS_CONFIG = str(override)


def indicator_section(indicator_id: str, *, comparison: str = "all") -> tuple[Any, Any]:
    """(the report, the indicator's section) as the national role sees it for 2024."""
    choices = content.Choices(
        "indikatorer", 2024, 2024, comparison, Unit.objects.get(pk=ST_OLAVS), viewer_sees_all=True
    )
    built = content.build(choices)
    title = ind.BY_ID[indicator_id].title("nb")
    return built, next(s for s in built.sections if s.title.startswith(title))


def rows(section: Any) -> dict[str, str]:
    return {label: cells[0] for label, cells in section.table.rows}


def booked(unit: int, *, with_team: int, without: int) -> None:
    for answers in [TEAM] * with_team + [{}] * without:
        course(unit, "2024-03-03", clinician=answers, baseline={})


def test_units_are_ordered_by_share_with_the_too_few_last_and_marked_by_the_configured_limit(
    tmp_path: Any, settings: Any
) -> None:
    configure(tmp_path, settings, "[presentation]\nmin_denominator = 3\n")
    booked(ST_OLAVS, with_team=1, without=2)  # 1 of 3: at the limit, shown
    booked(HAUKELAND, with_team=1, without=1)  # 1 of 2: under it
    built, section = indicator_section("nnrr_tverrfaglig_behandling")
    shown = rows(section)
    assert shown["St. Olavs"] == "33 % (1 %–91 %), N=3"
    assert shown["Haukeland"] == "N<3"  # the mark says the configured limit, not 30
    assert shown["Hele landet"] == "40 % (5 %–85 %), N=5"
    labels = [label for label, _cells in section.table.rows]
    # Those shown by their share (40 % before 33 %), then those with too few: Haukeland's 1 of 2
    # before UNN-Tromsø, which has no course at all.
    assert labels[:4] == ["Hele landet", "St. Olavs", "Haukeland", labels[3]]
    assert labels.index("Haukeland") < labels.index("UNN-Tromsø")
    assert all(shown[label] == "N<3" for label in labels[2:])
    assert "vises som «N<3»" in built.intro and "færre enn 3 i nevneren" in built.intro
    # The chart's bars say the same.
    assert "Haukeland: N<3" in section.chart.alt


def test_a_unit_with_too_few_in_the_latest_year_is_marked_in_every_year(fixture: None) -> None:
    choices = content.Choices(
        "indikatorer", 2023, 2024, "all", Unit.objects.get(pk=ST_OLAVS), viewer_sees_all=True
    )
    built = content.build(choices)
    title = ind.BY_ID["nnrr_tverrfaglig_behandling"].title("nb")
    section = next(s for s in built.sections if s.title.startswith(title))
    # 8 < 30 courses in 2024: the unit is shown as N<30 for 2023 too.
    assert dict(section.table.rows)["St. Olavs"] == ["N<30", "N<30"]


@pytest.mark.parametrize(("limit", "flagged"), [(None, ["UNN-Tromsø *"]), (0.7, None)])
def test_low_coverage_is_flagged_below_the_configured_share(
    tmp_path: Any, settings: Any, limit: float | None, flagged: list[str] | None
) -> None:
    extra = f"coverage_flag_below = {limit}\n" if limit else ""
    configure(tmp_path, settings, f"[presentation]\nmin_denominator = 3\n{extra}")
    booked(ST_OLAVS, with_team=1, without=2)
    coverage(ST_OLAVS, 5)  # 3 registered of 3 + 5 eligible: 60 %
    coverage(UNN_TROMSO, 1)  # nothing registered of 1: 0 %
    _built, section = indicator_section("nnrr_tverrfaglig_behandling")
    labels = [label for label, _cells in section.table.rows]
    starred = [label for label in labels if label.endswith(" *")]
    if limit is None:
        # Exactly 60 % is not under the default 60 %; a unit without a coverage figure is
        # not flagged (Haukeland).
        assert starred == flagged
        assert section.notes == ["* Dekningsgrad < 60 %"]
    else:
        assert starred == ["St. Olavs *", "UNN-Tromsø *"]
        assert section.notes == ["* Dekningsgrad < 70 %"]


def test_no_flag_and_no_note_without_low_coverage(db: Any) -> None:
    booked(ST_OLAVS, with_team=1, without=2)
    _built, section = indicator_section("nnrr_tverrfaglig_behandling")
    assert not any(label.endswith(" *") for label, _cells in section.table.rows)
    assert section.notes == []


def test_the_goal_and_minimum_come_from_the_configuration(tmp_path: Any, settings: Any) -> None:
    configure(
        tmp_path,
        settings,
        "[goals]\nnnrr_tverrfaglig_behandling = { goal = 0.55, minimum = 0.45 }\n",
    )
    _built, section = indicator_section("nnrr_tverrfaglig_behandling")
    assert section.text.endswith("Mål: 55 %, min.: 45 %.")


@pytest.mark.parametrize(("denominator", "too_few"), [(29, True), (30, False), (0, True)])
def test_too_few_is_fewer_courses_than_the_minimum_denominator(
    denominator: int, too_few: bool
) -> None:
    cfg = report_config.load()
    assert cfg.too_few(Share(0, denominator)) is too_few
    assert cfg.too_few_mark == "N<30"


@pytest.mark.parametrize(
    ("coverage", "low"), [(Share(59, 100), True), (Share(60, 100), False), (Share(0, 0), False)]
)
def test_coverage_is_low_under_60_percent_and_never_without_a_figure(
    coverage: Share, low: bool
) -> None:
    assert report_config.load().coverage_low(coverage) is low
