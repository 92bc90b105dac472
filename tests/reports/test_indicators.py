"""Every indicator against a small fixture computed by hand, with each exclusion in it.

St. Olavs (SO) and Haukeland (HUS). Process indicators count by visit year (2024 here), outcome
indicators by follow-up year (visit + 6 months: visits July 2023 – June 2024 give 2024).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nnrr.accounts.models import Unit
from nnrr.reports import indicators as ind
from nnrr.reports.models import CoverageEntry
from tests.conftest import HAUKELAND, ST_OLAVS

EXPECTED_ST_OLAVS_2024 = {
    "nnrr_tverrfaglig_behandling": (2, 8),  # A, B of A, B, C, O2, O3, O4, O5, O9
    "nnrr_mestringsorientert_samtale": (1, 2),  # A of A, B
    "nnrr_tid_henvisning_besok_50": (8, 8),  # every course referred 30 days before its visit
    # Relative changes, (baseline − 6 m) ÷ baseline ≥ 0.30:
    "nnrr_bedret_funksjon": (1, 3),  # O9 (10 ÷ 32.3) of O1 (10 ÷ 40), O2 (7.2 ÷ 30.2), O9
    "nnrr_funksjons_nedsettelse": (2, 3),  # O2 (exactly 23), O9 of O1, O2, O9
    "nnrr_bedring_smerte_hvile": (1, 2),  # O1 (2 ÷ 6) of O1, O2 (1 ÷ 5); O9 baseline 0
    "nnrr_bedring_smerte_aktiv": (2, 3),  # O4 (2 ÷ 4), O9 (1 ÷ 3) of O2 (2 ÷ 7), O4, O9
    "nnrr_jobb_ny_v1": (1, 3),  # O1 of O1, O2, O9 (O4 not employed)
    "nnrr_jobb_ny_v2": (2, 3),  # O1, O2 (lower sick-leave %) of O1, O2, O9
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
    counts = ind.counted(
        [ind.BY_ID["nnrr_tverrfaglig_behandling"], ind.BY_ID["nnrr_bedret_funksjon"]], 2023, 2024
    )
    tverr = counts["nnrr_tverrfaglig_behandling"]
    assert (tverr.unit(HAUKELAND, 2024).numerator, tverr.unit(HAUKELAND, 2024).denominator) == (
        1,
        2,  # G, and O6 (no interdisciplinary treatment)
    )
    assert tverr.national(2024).denominator == 10
    assert tverr.rest(ST_OLAVS, 2024).denominator == 2
    assert (tverr.unit(ST_OLAVS, 2023).numerator, tverr.unit(ST_OLAVS, 2023).denominator) == (1, 3)
    odi = counts["nnrr_bedret_funksjon"]
    # O8: 50 → 20 in 2023; 2024 nationally: O9 and O6 (50 → 20) of O1, O2, O9, O6.
    assert (odi.unit(ST_OLAVS, 2023).numerator, odi.unit(ST_OLAVS, 2023).denominator) == (1, 1)
    assert (odi.national(2024).numerator, odi.national(2024).denominator) == (2, 4)


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


def test_other_shares_without_target(db: Any) -> None:
    from tests.reports.builders import course

    def make(counselling: int | None, mapped: int | None, employed: int | None) -> None:
        answers = {
            k: v
            for k, v in (
                ("TreatmentCouncellingLifeStyleAndMedication", counselling),
                ("TreatmentAbilityToWorkFunctionLevel", mapped),
            )
            if v is not None
        }
        baseline = {} if employed is None else {"IsEmployed": employed}
        course(ST_OLAVS, "2024-05-05", clinician=answers, baseline=baseline)

    make(1, 1, 1)  # advice; mapped, employed
    make(2, 2, 1)  # no advice; not mapped, employed
    make(None, 1, 0)  # advice unanswered; mapped, not employed
    make(1, None, 1)  # advice; mapping unanswered
    counts = ind.counted(ind.OTHER_SHARES, 2024, 2024)
    advice = counts["nnrr_livsstilsraad"].unit(ST_OLAVS, 2024)
    mapped = counts["nnrr_arbeidsfunksjon_kartlagt"].unit(ST_OLAVS, 2024)
    assert (advice.numerator, advice.denominator) == (2, 3)
    assert (mapped.numerator, mapped.denominator) == (1, 2)
    # Not in the national file: it has no target and no national id.
    assert not {"nnrr_livsstilsraad", "nnrr_arbeidsfunksjon_kartlagt"} & {
        i.id for i in ind.INDICATORS
    }


def test_cached_counts_follow_the_data(fixture: None, settings: Any) -> None:
    settings.REPORTS_CACHE_SECONDS = 600
    first = ind.counted_cached([ind.BY_ID["nnrr_tverrfaglig_behandling"]], 2024, 2024)
    assert first["nnrr_tverrfaglig_behandling"].unit(ST_OLAVS, 2024).denominator == 8
    from tests.reports.builders import course

    course(ST_OLAVS, "2024-06-06", clinician={}, baseline={})  # one more course: not stale
    again = ind.counted_cached([ind.BY_ID["nnrr_tverrfaglig_behandling"]], 2024, 2024)
    assert again["nnrr_tverrfaglig_behandling"].unit(ST_OLAVS, 2024).denominator == 9


def test_a_configuration_naming_an_earlier_id_sets_the_renamed_indicator(
    tmp_path: Any, settings: Any
) -> None:
    from nnrr.reports import config

    override = tmp_path / "targets.toml"
    override.write_text("[goals]\nnnrr_jobb_v2 = { goal = 0.5, minimum = 0.4 }\n")
    settings.REPORTS_CONFIG = str(override)
    cfg = config.load()
    assert cfg.target("nnrr_jobb_ny_v2") == config.Target(0.5, 0.4)
    assert cfg.target("nnrr_jobb_ny_v1") == config.Target(0.30, 0.25)


def test_point_change_shares_are_shown_beside_their_indicator() -> None:
    order = [i.id for i in ind.report_order()]
    assert order.index("odi_klinisk_viktig_6mnd") == order.index("nnrr_bedret_funksjon") + 1
    assert (
        order.index("bedring_smerte_aktiv_6mnd_v2") == order.index("nnrr_bedring_smerte_aktiv") + 1
    )
    assert [i.id for i in ind.INDICATORS] == [
        "nnrr_tverrfaglig_behandling",
        "nnrr_mestringsorientert_samtale",
        "nnrr_tid_henvisning_besok_50",
        "nnrr_bedret_funksjon",
        "nnrr_funksjons_nedsettelse",
        "nnrr_bedring_smerte_hvile",
        "nnrr_bedring_smerte_aktiv",
        "nnrr_jobb_ny_v1",
        "nnrr_jobb_ny_v2",
        "nnrr_bedring_av_behandling",
        "nnrr_misfornoeyd",
        "nnrr_dg",
    ]


def _work_indicators() -> list[ind.Indicator]:
    """The two "back in work" indicators (whatever their ids' version suffix)."""
    found = [i for i in ind.INDICATORS if i.id.startswith("nnrr_jobb")]
    assert len(found) == 2
    return found


def test_the_work_indicators_count_only_the_employed_and_sick_listed_at_baseline(db: Any) -> None:
    from tests.reports.builders import course

    back = {"S2_Working": True, "S2_SickLeave": False, "S2_NAV": False}
    still_sick = {"S2_Working": False, "S2_SickLeave": True, "S2_NAV": False}

    def make(baseline: dict[str, Any], six: dict[str, Any] | None) -> None:
        course(ST_OLAVS, "2024-01-20", clinician={}, baseline=baseline, six=six)

    make({"IsEmployed": 1, "S2_SickLeave": True}, back)  # in, and back in work
    make({"IsEmployed": 1, "S2_SickLeave": True}, still_sick)  # in, not back
    make({"IsEmployed": 1, "S2_SickLeave": False}, back)  # employed, not sick-listed
    make({"IsEmployed": 1}, back)  # sick leave not answered
    make({"IsEmployed": 0, "S2_SickLeave": True}, back)  # sick-listed, not employed
    make({"S2_SickLeave": True}, back)  # employment not answered
    make({"IsEmployed": 1, "S2_SickLeave": True}, None)  # no 6-month form
    counts = ind.counted(_work_indicators(), 2024, 2024)
    for indicator_id, counted in counts.items():
        share = counted.unit(ST_OLAVS, 2024)
        assert (share.numerator, share.denominator) == (1, 2), indicator_id


def test_coverage_is_capped_at_100_percent(db: Any) -> None:
    from django.utils import timezone

    from tests.reports.builders import course

    for _ in range(3):
        course(ST_OLAVS, "2024-03-03", clinician={}, baseline={})
    CoverageEntry.objects.create(
        unit=Unit.objects.get(pk=ST_OLAVS), year=2024, half=1, eligible=2, entered_at=timezone.now()
    )
    share = ind.counted([ind.COVERAGE], 2024, 2024)[ind.COVERAGE.id].unit(ST_OLAVS, 2024)
    assert share.value == 1.0
    assert (share.numerator, share.denominator) == (2, 2)
    assert ind.registrations(2024, 2024)[(ST_OLAVS, 2024)] == 3  # the count stays as registered


def test_counts_are_kept_while_the_data_do_not_change_and_not_at_all_with_no_cache_time(
    db: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.reports.builders import course

    computed: list[tuple[tuple[str, ...], int, int]] = []
    real = ind.counted

    def counting(indicators: Any, first_year: int, last_year: int) -> Any:
        computed.append((tuple(i.id for i in indicators), first_year, last_year))
        return real(indicators, first_year, last_year)

    monkeypatch.setattr(ind, "counted", counting)
    tverr = [ind.BY_ID["nnrr_tverrfaglig_behandling"]]
    course(ST_OLAVS, "2024-06-06", clinician={}, baseline={})
    settings.REPORTS_CACHE_SECONDS = 0
    for _ in range(2):
        result = ind.counted_cached(tverr, 2024, 2024)
        assert result[tverr[0].id].unit(ST_OLAVS, 2024).denominator == 1
    assert computed == [(("nnrr_tverrfaglig_behandling",), 2024, 2024)] * 2
    computed.clear()
    settings.REPORTS_CACHE_SECONDS = 1
    first = ind.counted_cached(tverr, 2023, 2024)
    assert ind.counted_cached(tverr, 2023, 2024)[tverr[0].id].years == (2023, 2024)
    assert first[tverr[0].id].years == (2023, 2024)
    assert len(computed) == 1  # the second answer came from the cache
    # Another period or another set of indicators is another entry.
    ind.counted_cached(tverr, 2024, 2024)
    ind.counted_cached(tverr, 2023, 2023)
    both = ind.counted_cached([*tverr, ind.BY_ID["nnrr_mestringsorientert_samtale"]], 2023, 2024)
    assert set(both) == {"nnrr_tverrfaglig_behandling", "nnrr_mestringsorientert_samtale"}
    assert len(computed) == 4


def test_an_indicator_has_a_title_in_each_language() -> None:
    tverr = ind.BY_ID["nnrr_tverrfaglig_behandling"]
    assert tverr.title() == tverr.title("nb") == "Tverrfaglig behandling"
    assert tverr.title("en") == "Interdisciplinary treatment"
    assert not tverr.is_outcome and ind.year_field(tverr) == "visit_year"
    odi = ind.BY_ID["nnrr_bedret_funksjon"]
    assert odi.is_outcome and ind.year_field(odi) == "followup_year"


def test_coverage_takes_the_latest_entered_figure_of_the_years_asked_for(db: Any) -> None:
    from django.utils import timezone

    from tests.reports.builders import course

    now = timezone.now()
    st_olavs, haukeland = Unit.objects.get(pk=ST_OLAVS), Unit.objects.get(pk=HAUKELAND)
    # Entered later, stored first: the entry time decides, not the order of storing.
    CoverageEntry.objects.create(
        unit=st_olavs, year=2024, half=1, eligible=1, entered_at=now + dt.timedelta(hours=1)
    )
    CoverageEntry.objects.create(unit=st_olavs, year=2024, half=1, eligible=9, entered_at=now)
    CoverageEntry.objects.create(unit=st_olavs, year=2023, half=1, eligible=7, entered_at=now)
    CoverageEntry.objects.create(unit=haukeland, year=2024, half=2, eligible=4, entered_at=now)
    course(ST_OLAVS, "2024-03-03", clinician={}, baseline={})
    assert ind.eligible(2024, 2024) == {(ST_OLAVS, 2024): 1, (HAUKELAND, 2024): 4}
    assert ind.eligible(2023, 2023) == {(ST_OLAVS, 2023): 7}
    cov = ind.counted([ind.COVERAGE], 2024, 2024)[ind.COVERAGE.id]
    assert (cov.unit(ST_OLAVS, 2024).numerator, cov.unit(ST_OLAVS, 2024).denominator) == (1, 1)
    assert (cov.unit(HAUKELAND, 2024).numerator, cov.unit(HAUKELAND, 2024).denominator) == (0, 4)
    assert cov.unit(ST_OLAVS, 2023).value is None and cov.unit(UNN, 2024).denominator == 0


UNN = 601032


def test_the_rest_of_the_country_beside_a_unit_without_courses_is_the_whole_country(
    db: Any,
) -> None:
    from tests.reports.builders import course

    team = {"Treatment_InvidualInterdisciplinary": 1, "Treatment_GroupInterdisciplinary2018": 0}
    for unit, with_team, without in ((ST_OLAVS, 1, 2), (HAUKELAND, 1, 1)):
        for answers in [team] * with_team + [{}] * without:
            course(unit, "2024-03-03", clinician=answers, baseline={})
    tverr = ind.counted([ind.BY_ID["nnrr_tverrfaglig_behandling"]], 2024, 2024)[
        "nnrr_tverrfaglig_behandling"
    ]
    national = tverr.national(2024)
    assert (national.numerator, national.denominator) == (2, 5)
    assert tverr.rest(UNN, 2024) == national
    rest = tverr.rest(ST_OLAVS, 2024)
    assert (rest.numerator, rest.denominator) == (1, 2)


def test_of_two_coverage_figures_entered_at_the_same_time_the_last_stored_counts(db: Any) -> None:
    from django.utils import timezone

    now = timezone.now()
    st_olavs = Unit.objects.get(pk=ST_OLAVS)
    for eligible in (4, 9, 6):
        CoverageEntry.objects.create(
            unit=st_olavs, year=2024, half=2, eligible=eligible, entered_at=now
        )
    assert ind.eligible(2024, 2024) == {(ST_OLAVS, 2024): 6}


def test_the_shares_without_a_place_beside_an_indicator_come_last_each_once() -> None:
    order = [i.id for i in ind.report_order()]
    assert len(order) == len(set(order)) == len(ind.INDICATORS) + len(ind.OTHER_SHARES)
    assert order[-2:] == ["nnrr_livsstilsraad", "nnrr_arbeidsfunksjon_kartlagt"]


def test_a_pain_of_1_before_and_0_after_is_a_clinically_important_improvement(db: Any) -> None:
    from tests.reports.builders import course

    course(
        ST_OLAVS,
        "2024-01-20",
        clinician={},
        baseline={"PainExperiencesNoActivity": 1, "PainExperiencesActivity": 1},
        six={"PainExperiencesNoActivity": 0, "PainExperiencesActivity": 1},
    )
    counts = ind.counted(
        [
            ind.BY_ID[i]
            for i in (
                "nnrr_bedring_smerte_hvile",
                "nnrr_bedring_smerte_aktiv",
                "bedring_smerte_hvile_6mnd_v2",
                "bedring_smerte_aktiv_6mnd_v2",
            )
        ],
        2024,
        2024,
    )
    got = {
        i: (c.unit(ST_OLAVS, 2024).numerator, c.unit(ST_OLAVS, 2024).denominator)
        for i, c in counts.items()
    }
    assert got == {
        "nnrr_bedring_smerte_hvile": (1, 1),  # (1 − 0) ÷ 1 = 1 ≥ 0.30
        "nnrr_bedring_smerte_aktiv": (0, 1),  # unchanged
        "bedring_smerte_hvile_6mnd_v2": (0, 1),  # 1 point lower: not 2
        "bedring_smerte_aktiv_6mnd_v2": (0, 1),  # 0 points lower
    }


def test_an_unchanged_sick_leave_percentage_is_not_a_lower_one(db: Any) -> None:
    from tests.reports.builders import course

    still_sick = {"S2_Working": False, "S2_SickLeave": True, "S2_NAV": False}
    baseline = {"IsEmployed": 1, "S2_SickLeave": True, "S2_SickLeave_Percent": 50}
    for percent in (50, 40):
        course(
            ST_OLAVS,
            "2024-01-20",
            clinician={},
            baseline=baseline,
            six={**still_sick, "S2_SickLeave_Percent": percent},
        )
    v2 = next(i for i in _work_indicators() if i.id.endswith("v2"))
    share = ind.counted([v2], 2024, 2024)[v2.id].unit(ST_OLAVS, 2024)
    assert (share.numerator, share.denominator) == (1, 2)  # 50 → 40 only


def test_the_pain_indicators_count_only_courses_with_the_pain_answered_before_and_after(
    db: Any,
) -> None:
    from tests.reports.builders import course

    both = {"PainExperiencesNoActivity": 6, "PainExperiencesActivity": 6}
    after = {"PainExperiencesNoActivity": 2, "PainExperiencesActivity": 2}
    course(ST_OLAVS, "2024-01-20", clinician={}, baseline=both, six=after)  # counted
    course(ST_OLAVS, "2024-01-20", clinician={}, baseline={}, six=after)  # none before
    course(ST_OLAVS, "2024-01-20", clinician={}, baseline=both, six={"UseOfTreatment": 2})
    course(ST_OLAVS, "2024-01-20", clinician={}, baseline=both)  # no 6-month form
    ids = (
        "nnrr_bedring_smerte_hvile",
        "nnrr_bedring_smerte_aktiv",
        "bedring_smerte_hvile_6mnd_v2",
        "bedring_smerte_aktiv_6mnd_v2",
    )
    counts = ind.counted([ind.BY_ID[i] for i in ids], 2024, 2024)
    got = {
        i: (c.unit(ST_OLAVS, 2024).numerator, c.unit(ST_OLAVS, 2024).denominator)
        for i, c in counts.items()
    }
    assert got == dict.fromkeys(ids, (1, 1))
