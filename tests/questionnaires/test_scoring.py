"""Scoring rules of domain.md §3, EQ-5D-5L value sets and interpretation bands."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
from django.core.checks import registry
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from nnrr.questionnaires import scoring
from nnrr.questionnaires.models import FormKind
from nnrr.questionnaires.scoring import (
    EQ5D_ITEMS,
    FABQ_PHYSICAL_ITEMS,
    FABQ_WORK_ITEMS,
    HSCL10_ITEMS,
    NDI_ITEMS,
    ODI_ITEMS,
    UHI_ITEMS,
    available_value_sets,
    band,
    check_value_set,
    compute_scores,
    get_value_set,
    score,
)

SHIPPED_VALUE_SETS = ("denmark_2021", "england_2018", "netherlands_2016", "norway_2024")


def answers(items: Sequence[str], codes: Sequence[int | None]) -> dict[str, object]:
    """Answers giving ``codes`` to the first ``len(codes)`` of ``items``."""
    return dict(zip(items, codes, strict=False))


def eq5d(state: str) -> dict[str, object]:
    """EQ-5D-5L answers for a health state written as five digits, e.g. "21111"."""
    return {item: int(level) for item, level in zip(EQ5D_ITEMS, state, strict=True)}


def uhi(codes: dict[int, int]) -> dict[str, object]:
    """UHI answers keyed by item number."""
    return {f"UhiQ{number}": code for number, code in codes.items()}


# --- ODI ---------------------------------------------------------------------------------------


def test_odi_with_all_items_at_best_code_is_zero() -> None:
    assert score("odi", answers(ODI_ITEMS, [1] * 10)) == 0


def test_odi_with_all_items_at_worst_code_is_100() -> None:
    assert score("odi", answers(ODI_ITEMS, [6] * 10)) == 100


def test_odi_is_percentage_of_item_scores_which_are_code_minus_one() -> None:
    # Item scores 1,2,3,4,5,0,1,2,3,4 = 25 of a possible 50.
    codes = [2, 3, 4, 5, 6, 1, 2, 3, 4, 5]
    assert score("odi", answers(ODI_ITEMS, codes)) == 50


def test_odi_with_nine_answered_divides_by_five_times_nine() -> None:
    assert score("odi", answers(ODI_ITEMS, [3] * 9)) == pytest.approx(100 * 18 / 45)


def test_odi_with_eight_answered_is_scored() -> None:
    assert score("odi", answers(ODI_ITEMS, [2] * 8)) == pytest.approx(20)


def test_odi_with_seven_answered_is_missing() -> None:
    assert score("odi", answers(ODI_ITEMS, [2] * 7)) is None


def test_odi_counts_none_values_as_missing() -> None:
    given_answers = answers(ODI_ITEMS, [2] * 7 + [None] * 3)
    assert score("odi", given_answers) is None


def test_odi_of_empty_answers_is_missing() -> None:
    assert score("odi", {}) is None


@pytest.mark.parametrize("bad", [0, 7, -1, "3", 3.0, True, False, [3]])
def test_odi_refuses_a_code_that_is_not_an_integer_from_1_to_6(bad: object) -> None:
    given_answers = answers(ODI_ITEMS, [2] * 10)
    given_answers["OdiSit"] = bad
    with pytest.raises(ValueError, match="OdiSit"):
        score("odi", given_answers)


def test_an_invalid_code_is_refused_even_when_the_score_would_be_missing() -> None:
    with pytest.raises(ValueError, match="OdiPain"):
        score("odi", {"OdiPain": 9})


def test_odi_only_reads_its_own_items() -> None:
    given_answers = answers(ODI_ITEMS, [1] * 10) | {"NdiLift": 99, "FabQ1": "x"}
    assert score("odi", given_answers) == 0


# --- NDI ---------------------------------------------------------------------------------------


def test_ndi_points_are_sum_of_item_scores_with_all_ten_answered() -> None:
    assert score("ndi", answers(NDI_ITEMS, [3] * 10)) == 20


def test_ndi_points_range_from_0_to_50() -> None:
    assert score("ndi", answers(NDI_ITEMS, [1] * 10)) == 0
    assert score("ndi", answers(NDI_ITEMS, [6] * 10)) == 50


def test_ndi_with_nine_answered_is_prorated_to_ten_items() -> None:
    codes = [2, 2, 2, 2, 1, 1, 1, 1, 1]  # item scores sum to 4
    assert score("ndi", answers(NDI_ITEMS, codes)) == pytest.approx(40 / 9)


def test_ndi_with_eight_answered_is_scored_and_seven_is_missing() -> None:
    assert score("ndi", answers(NDI_ITEMS, [2] * 8)) == pytest.approx(10)
    assert score("ndi", answers(NDI_ITEMS, [2] * 7)) is None


def test_ndi_refuses_a_bool_code() -> None:
    with pytest.raises(ValueError, match="NdiRead"):
        score("ndi", answers(NDI_ITEMS, [2] * 10) | {"NdiRead": True})


# --- HSCL-10 -----------------------------------------------------------------------------------


def test_hscl10_is_the_mean_of_answered_items() -> None:
    codes = [1, 2, 3, 4, 1, 2, 3, 4, 1, 2]
    assert score("hscl10", answers(HSCL10_ITEMS, codes)) == pytest.approx(2.3)


def test_hscl10_with_eight_answered_is_the_mean_of_those_eight() -> None:
    assert score("hscl10", answers(HSCL10_ITEMS, [2, 2, 2, 2, 2, 2, 1, 4])) == pytest.approx(2.125)


def test_hscl10_with_seven_answered_is_missing() -> None:
    assert score("hscl10", answers(HSCL10_ITEMS, [4] * 7)) is None


@pytest.mark.parametrize("bad", [0, 5])
def test_hscl10_refuses_codes_outside_1_to_4(bad: int) -> None:
    with pytest.raises(ValueError, match="Hscl10Q3"):
        score("hscl10", answers(HSCL10_ITEMS, [1] * 10) | {"Hscl10Q3": bad})


# --- FABQ --------------------------------------------------------------------------------------


def test_fabq_physical_is_the_sum_of_items_1_to_4() -> None:
    assert score("fabq_physical", answers(FABQ_PHYSICAL_ITEMS, [0, 3, 6, 5])) == 14


def test_fabq_physical_with_one_item_missing_is_missing() -> None:
    assert score("fabq_physical", answers(FABQ_PHYSICAL_ITEMS, [6, 6, 6])) is None


def test_fabq_work_is_the_sum_of_items_5_to_11() -> None:
    assert score("fabq_work", answers(FABQ_WORK_ITEMS, [6] * 7)) == 42


def test_fabq_work_with_one_item_missing_is_missing() -> None:
    given_answers = answers(FABQ_WORK_ITEMS, [1] * 7) | {"FabQ11": None}
    assert score("fabq_work", given_answers) is None


def test_fabq_code_zero_is_an_answer_not_a_missing_item() -> None:
    assert score("fabq_physical", answers(FABQ_PHYSICAL_ITEMS, [0] * 4)) == 0


def test_fabq_scales_do_not_depend_on_each_other() -> None:
    given_answers = answers(FABQ_PHYSICAL_ITEMS, [1] * 4)
    assert score("fabq_physical", given_answers) == 4
    assert score("fabq_work", given_answers) is None


def test_fabq_refuses_code_7() -> None:
    with pytest.raises(ValueError, match="FabQ2"):
        score("fabq_physical", answers(FABQ_PHYSICAL_ITEMS, [0, 7, 0, 0]))


# --- UHI ---------------------------------------------------------------------------------------


def test_uhi_counts_complaints_with_code_2_or_more() -> None:
    assert score("uhi_high_count", uhi({1: 0, 2: 1, 3: 2, 4: 3, 8: 2})) == 3


def test_uhi_does_not_count_neck_upper_back_and_low_back_pain_items_5_to_7() -> None:
    assert score("uhi_high_count", uhi({1: 0, 2: 0, 3: 0, 5: 3, 6: 3, 7: 3})) == 0


def test_uhi_with_two_eligible_items_answered_is_missing_even_with_items_5_to_7() -> None:
    assert score("uhi_high_count", uhi({1: 3, 2: 3, 5: 3, 6: 3, 7: 3})) is None


def test_uhi_with_three_eligible_items_answered_is_scored() -> None:
    assert score("uhi_high_count", uhi({1: 3, 2: 3, 33: 0})) == 2


def test_uhi_all_items_at_worst_counts_thirty() -> None:
    assert score("uhi_high_count", answers(UHI_ITEMS, [3] * 33)) == 30


def test_uhi_refuses_code_4_even_in_an_uncounted_item() -> None:
    with pytest.raises(ValueError, match="UhiQ6"):
        score("uhi_high_count", uhi({1: 0, 2: 0, 3: 0, 6: 4}))


# --- Pain regions ------------------------------------------------------------------------------


def test_pain_regions_counts_ticked_regions() -> None:
    given_answers = {"IsPainHead": True, "IsPainLowBack": True, "IsPainNeckBack": False}
    assert score("pain_regions", given_answers) == 2


def test_pain_regions_is_zero_only_for_answered_boxes_and_missing_for_a_skipped_drawing() -> None:
    assert score("pain_regions", {"IsPainHead": False, "IsPainLowBack": None}) == 0
    assert score("pain_regions", {}) is None  # skipped: missing, not 0 regions


def test_pain_regions_ignores_items_outside_the_pain_drawing() -> None:
    assert score("pain_regions", {"IsNeckPainMainProblem": True, "OdiPain": 3}) is None
    assert score("pain_regions", {"IsNeckPainMainProblem": True, "IsPainHead": True}) == 1


@pytest.mark.parametrize("bad", [1, 0, "True", "yes"])
def test_pain_regions_refuses_a_non_boolean_tick(bad: object) -> None:
    with pytest.raises(ValueError, match="IsPainHead"):
        score("pain_regions", {"IsPainHead": bad})


# --- EQ-5D-5L index ----------------------------------------------------------------------------

# Published index values, each from the source named in the value set file: England and the
# Netherlands from the eq5d R package's test suite; Denmark from that suite and the eq5dsuite
# value table; Norway from the eq5dsuite value table (rounded here to 3 decimals).
PUBLISHED = {
    "england_2018": {
        "11112": 0.922,
        "11121": 0.937,
        "11211": 0.950,
        "12111": 0.950,
        "21111": 0.942,
        "23245": 0.247,
        "55555": -0.285,
    },
    "denmark_2021": {"13224": 0.439, "11112": 0.928, "21111": 0.959, "55555": -0.758},
    "netherlands_2016": {"21111": 0.918, "55511": 0.390, "44444": -0.289, "55555": -0.446},
    "norway_2024": {
        "11112": 0.928,
        "21111": 0.969,
        "12345": 0.137,
        "33333": 0.539,
        "54321": 0.519,
        "55555": -0.453,
    },
}


@pytest.mark.parametrize(
    ("value_set", "state", "expected"),
    [(name, state, value) for name, values in PUBLISHED.items() for state, value in values.items()],
)
def test_eq5d_index_matches_published_values(value_set: str, state: str, expected: float) -> None:
    with override_settings(EQ5D_VALUE_SET=value_set):
        assert score("eq5d5l_index", eq5d(state)) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [("11112", 0.928256), ("24155", -0.05381), ("43145", 0.000798), ("55554", -0.3468)],
)
def test_norwegian_decrements_reproduce_the_six_decimal_table(state: str, expected: float) -> None:
    levels = [int(level) for level in state]
    assert get_value_set("norway_2024").index(levels) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("value_set", SHIPPED_VALUE_SETS)
def test_eq5d_full_health_is_exactly_one(value_set: str) -> None:
    with override_settings(EQ5D_VALUE_SET=value_set):
        assert score("eq5d5l_index", eq5d("11111")) == 1.0


def test_eq5d_is_rounded_to_three_decimals() -> None:
    with override_settings(EQ5D_VALUE_SET="norway_2024"):
        assert score("eq5d5l_index", eq5d("11112")) == 0.928  # 0.928256 unrounded


def test_eq5d_with_one_dimension_missing_is_missing() -> None:
    given_answers = eq5d("11111")
    del given_answers["Eq5d_L_spm3"]
    assert score("eq5d5l_index", given_answers) is None
    assert score("eq5d5l_index", eq5d("11111") | {"Eq5d_L_spm5": None}) is None


def test_eq5d_ignores_the_vas() -> None:
    assert score("eq5d5l_index", eq5d("11111") | {"Eq5d_L_spm6": 3}) == 1.0


@pytest.mark.parametrize("bad", [0, 6, True, "2", 2.0])
def test_eq5d_refuses_a_level_that_is_not_an_integer_from_1_to_5(bad: object) -> None:
    with pytest.raises(ValueError, match="Eq5d_L_spm4"):
        score("eq5d5l_index", eq5d("11111") | {"Eq5d_L_spm4": bad})


def test_eq5d_value_set_is_read_from_settings_at_call_time() -> None:
    worst = eq5d("55555")
    with override_settings(EQ5D_VALUE_SET="england_2018"):
        assert score("eq5d5l_index", worst) == -0.285
    with override_settings(EQ5D_VALUE_SET="denmark_2021"):
        assert score("eq5d5l_index", worst) == -0.758


def test_unknown_value_set_is_improperly_configured_and_lists_the_available_ones() -> None:
    with (
        override_settings(EQ5D_VALUE_SET="atlantis_1999"),
        pytest.raises(ImproperlyConfigured) as caught,
    ):
        score("eq5d5l_index", eq5d("21111"))
    message = str(caught.value)
    assert "atlantis_1999" in message
    assert all(name in message for name in SHIPPED_VALUE_SETS)


def test_unknown_value_set_fails_even_when_a_dimension_is_missing() -> None:
    with (
        override_settings(EQ5D_VALUE_SET="atlantis_1999"),
        pytest.raises(ImproperlyConfigured),
    ):
        score("eq5d5l_index", {})


def test_shipped_value_sets_are_listed() -> None:
    assert available_value_sets() == sorted(SHIPPED_VALUE_SETS)


@pytest.mark.parametrize("value_set", SHIPPED_VALUE_SETS)
def test_each_value_set_carries_its_citation_doi_and_country(value_set: str) -> None:
    loaded = get_value_set(value_set)
    assert loaded.name == value_set
    assert loaded.doi.startswith("10.")
    assert loaded.country
    assert len(loaded.citation) > 60


def test_only_the_dutch_value_set_has_an_intercept() -> None:
    intercepts = {name: get_value_set(name).intercept for name in SHIPPED_VALUE_SETS}
    assert intercepts == {
        "denmark_2021": 0.0,
        "england_2018": 0.0,
        "netherlands_2016": 0.047,
        "norway_2024": 0.0,
    }


# --- System check ------------------------------------------------------------------------------


def test_value_set_check_is_registered() -> None:
    assert check_value_set in registry.registry.registered_checks


@pytest.mark.parametrize("value_set", SHIPPED_VALUE_SETS)
def test_value_set_check_passes_for_each_shipped_value_set(value_set: str) -> None:
    with override_settings(EQ5D_VALUE_SET=value_set):
        assert check_value_set() == []


def test_value_set_check_reports_an_unknown_name() -> None:
    with override_settings(EQ5D_VALUE_SET="atlantis_1999"):
        errors = check_value_set()
    assert [error.id for error in errors] == ["nnrr.E110"]
    assert "england_2018" in errors[0].msg


def _write_value_set(directory: Path, name: str, *, published_55555: float) -> None:
    (directory / f"{name}.yaml").write_text(
        f"""
name: {name}
title: Test
country: Nowhere
citation: A test value set that nobody published.
doi: "10.0000/test"
decrements:
  mobility: [0.1, 0.1, 0.1, 0.1]
  self_care: [0.1, 0.1, 0.1, 0.1]
  usual_activities: [0.1, 0.1, 0.1, 0.1]
  pain_discomfort: [0.1, 0.1, 0.1, 0.1]
  anxiety_depression: [0.1, 0.1, 0.1, 0.1]
published_values:
  "55555": {published_55555}
""",
        encoding="utf-8",
    )


def test_a_value_set_file_is_checked_against_its_published_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_value_set(tmp_path, "good_2000", published_55555=0.5)
    monkeypatch.setattr(scoring, "VALUE_SET_DIR", tmp_path)
    with override_settings(EQ5D_VALUE_SET="good_2000"):
        assert check_value_set() == []
        assert score("eq5d5l_index", eq5d("55555")) == 0.5


def test_a_mistyped_coefficient_fails_the_system_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_value_set(tmp_path, "typo_2000", published_55555=0.45)
    monkeypatch.setattr(scoring, "VALUE_SET_DIR", tmp_path)
    with override_settings(EQ5D_VALUE_SET="typo_2000"):
        errors = check_value_set()
        with pytest.raises(ImproperlyConfigured, match="55555"):
            get_value_set()
    assert [error.id for error in errors] == ["nnrr.E110"]


def test_a_value_set_whose_name_differs_from_its_file_name_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_value_set(tmp_path, "first_2000", published_55555=0.5)
    (tmp_path / "first_2000.yaml").rename(tmp_path / "second_2000.yaml")
    monkeypatch.setattr(scoring, "VALUE_SET_DIR", tmp_path)
    with pytest.raises(ImproperlyConfigured, match="file name"):
        get_value_set("first_2000")


# --- compute_scores ----------------------------------------------------------------------------

BASELINE_COLUMNS = [
    "OdiScore",
    "NdiScore",
    "NdiPercent",
    "HSCL10Score",
    "FABQScore1",
    "FABQScore2",
    "UhiHighCount",
    "NofPainRegions",
    "Score_EQ5DL",
    "Eq5d_L_spm6",
]
FOLLOW_UP_COLUMNS = ["OdiScore", "NdiScore", "NdiPercent", "Score_EQ5DL", "Eq5d_L_spm6"]


def complete_baseline() -> dict[str, object]:
    return (
        answers(ODI_ITEMS, [3] * 10)
        | answers(NDI_ITEMS, [2] * 10)
        | answers(HSCL10_ITEMS, [2] * 10)
        | answers(FABQ_PHYSICAL_ITEMS + FABQ_WORK_ITEMS, [3] * 11)
        | answers(UHI_ITEMS, [2] * 33)
        | {"IsPainHead": True, "IsPainLowBack": True}
        | eq5d("21111")
        | {"Eq5d_L_spm6": 65}
    )


def test_baseline_form_gets_every_score_column() -> None:
    with override_settings(EQ5D_VALUE_SET="england_2018"):
        columns = compute_scores("1a", complete_baseline())
    assert columns == {
        "OdiScore": 40.0,
        "NdiScore": 10.0,
        "NdiPercent": 20.0,
        "HSCL10Score": 2.0,
        "FABQScore1": 12,
        "FABQScore2": 21,
        "UhiHighCount": 30,
        "NofPainRegions": 2,
        "Score_EQ5DL": 0.942,
        "Eq5d_L_spm6": 65,
    }
    assert list(columns) == BASELINE_COLUMNS


@pytest.mark.parametrize("form_kind", ["2", "3", FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12])
def test_follow_up_forms_get_only_odi_ndi_and_eq5d(form_kind: str) -> None:
    columns = compute_scores(form_kind, complete_baseline())
    assert list(columns) == FOLLOW_UP_COLUMNS


def test_clinician_form_gets_no_scores() -> None:
    assert compute_scores("1b", complete_baseline()) == {}
    assert compute_scores(FormKind.CLINICIAN, {}) == {}


def test_empty_baseline_form_has_missing_scores_and_no_pain_regions() -> None:
    columns = compute_scores(FormKind.PRE_TREATMENT, {})
    assert columns == dict.fromkeys(BASELINE_COLUMNS)


def test_unknown_form_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="4"):
        compute_scores("4", {})


def test_stored_odi_is_rounded_to_one_decimal() -> None:
    columns = compute_scores("2", answers(ODI_ITEMS, [3] * 9))  # 100 × 18 / 45
    assert columns["OdiScore"] == 40.0
    columns = compute_scores("2", answers(ODI_ITEMS, [2, 2, 2, 2, 2, 2, 2, 3, 3]))  # 1100/45
    assert columns["OdiScore"] == 24.4


def test_stored_ndi_rounds_half_up_and_percent_doubles_the_unrounded_points() -> None:
    # One item score of 1 over eight answered: 1.25 points, 2.5 %.
    columns = compute_scores("2", answers(NDI_ITEMS, [2, 1, 1, 1, 1, 1, 1, 1]))
    assert columns["NdiScore"] == 1.3  # round() would give 1.2 (half to even)
    assert columns["NdiPercent"] == 2.5  # not 2 × 1.3


def test_stored_hscl10_is_rounded_to_two_decimals() -> None:
    columns = compute_scores("1a", answers(HSCL10_ITEMS, [2, 2, 2, 2, 2, 2, 2, 3, 1]))
    assert columns["HSCL10Score"] == 2.0
    columns = compute_scores("1a", answers(HSCL10_ITEMS, [2, 2, 2, 2, 2, 2, 2, 3, 2]))
    assert columns["HSCL10Score"] == 2.11  # 19/9


def test_vas_is_copied_through_and_validated() -> None:
    assert compute_scores("3", {"Eq5d_L_spm6": 0})["Eq5d_L_spm6"] == 0
    assert compute_scores("3", {"Eq5d_L_spm6": 100})["Eq5d_L_spm6"] == 100
    assert compute_scores("3", {})["Eq5d_L_spm6"] is None
    with pytest.raises(ValueError, match="Eq5d_L_spm6"):
        compute_scores("3", {"Eq5d_L_spm6": 101})
    with pytest.raises(ValueError, match="Eq5d_L_spm6"):
        compute_scores("3", {"Eq5d_L_spm6": "80"})


def test_follow_up_form_ignores_baseline_only_items() -> None:
    columns = compute_scores("2", {"FabQ1": 99, "IsPainHead": "yes"})
    assert "FABQScore1" not in columns


def test_unknown_instrument_is_refused() -> None:
    with pytest.raises(ValueError, match="sf36"):
        score("sf36", {})


# --- Bands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value", "key"),
    [
        ("OdiScore", 0, "minimal"),
        ("OdiScore", 21, "minimal"),
        ("OdiScore", 21.5, "moderate"),
        ("OdiScore", 22, "moderate"),
        ("OdiScore", 40, "moderate"),
        ("OdiScore", 40.1, "considerable"),
        ("OdiScore", 60, "considerable"),
        ("OdiScore", 60.5, "severe"),
        ("OdiScore", 100, "severe"),
        ("NdiScore", 0, "none"),
        ("NdiScore", 4, "none"),
        ("NdiScore", 4.4, "mild"),
        ("NdiScore", 14, "mild"),
        ("NdiScore", 14.4, "moderate"),
        ("NdiScore", 24, "moderate"),
        ("NdiScore", 25, "severe"),
        ("NdiScore", 34, "severe"),
        ("NdiScore", 34.4, "complete"),
        ("NdiScore", 50, "complete"),
        ("NdiPercent", 8, "none"),
        ("NdiPercent", 8.9, "mild"),
        ("NdiPercent", 100, "complete"),
        ("FABQScore1", 0, "low"),
        ("FABQScore1", 13, "low"),
        ("FABQScore1", 13.5, "low"),
        ("FABQScore1", 14, "moderate"),
        ("FABQScore1", 16, "moderate"),
        ("FABQScore1", 16.5, "high"),
        ("FABQScore1", 17, "high"),
        ("FABQScore2", 19, "low"),
        ("FABQScore2", 20, "moderate"),
        ("FABQScore2", 24, "moderate"),
        ("FABQScore2", 25, "high"),
        ("FABQScore2", 42, "high"),
        ("HSCL10Score", 1, "below"),
        ("HSCL10Score", 1.84, "below"),
        ("HSCL10Score", 1.85, "considerable"),
        ("HSCL10Score", 4, "considerable"),
    ],
)
def test_band_limits_and_values_between_stated_ranges_fall_in_the_worse_band(
    column: str, value: float, key: str
) -> None:
    found = band(column, value)
    assert found is not None
    assert found.key == key


def test_band_severity_levels_start_at_zero_for_the_best_band() -> None:
    assert [band("OdiScore", v).level for v in (0, 30, 50, 80)] == [0, 1, 2, 3]  # type: ignore[union-attr]
    assert band("HSCL10Score", 2.5).level == 1  # type: ignore[union-attr]


def test_band_has_norwegian_and_english_labels() -> None:
    found = band("OdiScore", 50)
    assert found is not None
    assert found.nb == "Betydelig funksjonsnedsettelse"
    assert found.en == "Considerable disability"
    with translation.override("en"):
        assert str(found) == "Considerable disability"
    with translation.override("nb"):
        assert str(found) == "Betydelig funksjonsnedsettelse"


def test_band_of_a_missing_score_is_none() -> None:
    assert band("OdiScore", None) is None


@pytest.mark.parametrize("column", ["UhiHighCount", "NofPainRegions", "Score_EQ5DL", "Eq5d_L_spm6"])
def test_scores_without_interpretation_bands_have_no_band(column: str) -> None:
    assert band(column, 3) is None


@pytest.mark.parametrize(
    ("column", "value"),
    [("OdiScore", 100.5), ("OdiScore", -1), ("HSCL10Score", 0.5), ("FABQScore1", 25)],
)
def test_band_refuses_a_value_outside_the_score_range(column: str, value: float) -> None:
    with pytest.raises(ValueError, match=column):
        band(column, value)


@pytest.mark.parametrize("value", [True, "30", float("nan")])
def test_band_refuses_a_value_that_is_not_a_number(value: object) -> None:
    with pytest.raises(ValueError, match="OdiScore"):
        band("OdiScore", value)


def test_band_refuses_an_unknown_column() -> None:
    with pytest.raises(ValueError, match="OdiScor"):
        band("OdiScor", 30)


def test_every_band_table_is_ordered_from_best_to_worst() -> None:
    for column, bands in scoring.BANDS.items():
        assert [entry.level for entry in bands] == list(range(len(bands))), column


# --- Properties --------------------------------------------------------------------------------


class TenItemCase(NamedTuple):
    instrument: str
    items: Sequence[str]
    codes: tuple[int, int]
    score_range: tuple[float, float]
    answers: dict[str, int | None]


TEN_ITEM_INSTRUMENTS = [
    ("odi", ODI_ITEMS, (1, 6), (0, 100)),
    ("ndi", NDI_ITEMS, (1, 6), (0, 50)),
    ("hscl10", HSCL10_ITEMS, (1, 4), (1, 4)),
]


@st.composite
def ten_item_cases(draw: st.DrawFn) -> TenItemCase:
    """An instrument scored from ten items, with any subset of them answered (or None)."""
    instrument, items, codes, score_range = draw(st.sampled_from(TEN_ITEM_INSTRUMENTS))
    codes_or_none = st.one_of(st.none(), st.integers(*codes))
    given_answers = draw(st.dictionaries(st.sampled_from(items), codes_or_none, max_size=10))
    return TenItemCase(instrument, items, codes, score_range, given_answers)


@given(ten_item_cases())
def test_ten_item_scores_stay_in_range_and_need_eight_answers(case: TenItemCase) -> None:
    result = score(case.instrument, case.answers)
    answered = sum(value is not None for value in case.answers.values())
    assert (result is None) == (answered < 8)
    if result is not None:
        lowest, highest = case.score_range
        assert lowest <= result <= highest


@given(ten_item_cases(), st.data())
def test_adding_an_answer_never_makes_a_defined_score_undefined(
    case: TenItemCase, data: st.DataObject
) -> None:
    before = score(case.instrument, case.answers)
    unanswered = [item for item in case.items if case.answers.get(item) is None]
    if before is None or not unanswered:
        return
    item = data.draw(st.sampled_from(unanswered))
    code = data.draw(st.integers(*case.codes))
    assert score(case.instrument, case.answers | {item: code}) is not None


outside_odi_codes = st.integers().filter(lambda code: not 1 <= code <= 6)


@given(st.dictionaries(st.sampled_from(ODI_ITEMS), outside_odi_codes, min_size=1))
def test_any_odi_code_outside_1_to_6_is_refused(bad_answers: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        score("odi", bad_answers)


states = st.lists(st.integers(1, 5), min_size=5, max_size=5)


@pytest.mark.parametrize("value_set", SHIPPED_VALUE_SETS)
@given(levels=states)
def test_eq5d_index_is_at_most_one_and_one_only_for_full_health(
    value_set: str, levels: list[int]
) -> None:
    index = get_value_set(value_set).index(levels)
    assert index <= 1
    assert (index == 1) == (levels == [1, 1, 1, 1, 1])


@pytest.mark.parametrize("value_set", SHIPPED_VALUE_SETS)
@given(levels=states, dimension=st.integers(0, 4))
def test_eq5d_worsening_one_dimension_never_raises_the_index(
    value_set: str, levels: list[int], dimension: int
) -> None:
    if levels[dimension] == 5:
        return
    worse = [*levels]
    worse[dimension] += 1
    loaded = get_value_set(value_set)
    assert loaded.index(worse) <= loaded.index(levels)


@given(levels=states)
def test_eq5d_score_rounds_the_unrounded_index(levels: list[int]) -> None:
    state = "".join(map(str, levels))
    with override_settings(EQ5D_VALUE_SET="norway_2024"):
        rounded = score("eq5d5l_index", eq5d(state))
    assert rounded == pytest.approx(get_value_set("norway_2024").index(levels), abs=0.0005 + 1e-12)


@given(
    column=st.sampled_from(["OdiScore", "NdiScore", "FABQScore1", "FABQScore2", "HSCL10Score"]),
    data=st.data(),
)
def test_a_higher_score_never_gets_a_milder_band(column: str, data: st.DataObject) -> None:
    low, high = {
        "OdiScore": (0, 100),
        "NdiScore": (0, 50),
        "FABQScore1": (0, 24),
        "FABQScore2": (0, 42),
        "HSCL10Score": (1, 4),
    }[column]
    values = st.floats(low, high, allow_nan=False)
    first, second = sorted([data.draw(values), data.draw(values)])
    assert band(column, first).level <= band(column, second).level  # type: ignore[union-attr]


FULL_HEALTH = {
    "Eq5d_L_spm1": 1,
    "Eq5d_L_spm2": 1,
    "Eq5d_L_spm3": 1,
    "Eq5d_L_spm4": 1,
    "Eq5d_L_spm5": 1,
}

# Norway 2024 (Garratt et al.): index = 1 − weight(dimension) × 1 at level 5, with weights
# mobility 0.205, self-care 0.206, usual activities 0.179, pain/discomfort 0.391,
# anxiety/depression 0.472 (the paper's parameters; level 5's parameter is 1).
ONE_DIMENSION_AT_FIVE = [
    ("Eq5d_L_spm1", "51111", 0.795),
    ("Eq5d_L_spm2", "15111", 0.794),
    ("Eq5d_L_spm3", "11511", 0.821),
    ("Eq5d_L_spm4", "11151", 0.609),
    ("Eq5d_L_spm5", "11115", 0.528),
]


@pytest.mark.parametrize(("item", "state", "expected"), ONE_DIMENSION_AT_FIVE)
def test_each_eq5d_item_scores_as_its_own_dimension(item: str, state: str, expected: float) -> None:
    """Eq5d_L_spm4 = 5 and the rest 1 is state 11151 (pain/discomfort), and so on: an item mapped
    to the wrong dimension gives another dimension's weight."""
    with override_settings(EQ5D_VALUE_SET="norway_2024"):
        assert score("eq5d5l_index", FULL_HEALTH | {item: 5}) == expected, state
