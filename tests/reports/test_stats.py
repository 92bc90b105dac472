"""Clopper–Pearson intervals against published values (R: binom.test)."""

from __future__ import annotations

import pytest

from nnrr.reports.stats import Mean, Share, clopper_pearson


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (5, 10, 0.1870860, 0.8129140),
        (0, 10, 0.0, 0.3084971),
        (10, 10, 0.6915029, 1.0),
        (7, 20, 0.1539092, 0.5921885),
        (1, 30, 0.0008435709, 0.1721695),
    ],
)
def test_clopper_pearson_matches_r(x: int, n: int, low: float, high: float) -> None:
    got = clopper_pearson(x, n)
    assert got == pytest.approx((low, high), abs=1e-6)


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError):
        clopper_pearson(3, 0)
    with pytest.raises(ValueError):
        clopper_pearson(4, 3)


def test_share_and_rest_of_country() -> None:
    national = Share(30, 100)
    own = Share(10, 20)
    rest = national - own
    assert (rest.numerator, rest.denominator) == (20, 80)
    assert rest.value == 0.25
    assert Share(0, 0).value is None and Share(0, 0).interval is None


def test_mean_with_normal_interval() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    mean = Mean(len(values), sum(values), sum(v * v for v in values))
    assert mean.value == 25.0
    # sd = 12.9099; half-width = 1.959964 × 12.9099 / 2 = 12.6515
    assert mean.interval == pytest.approx((12.3485, 37.6515), abs=1e-3)


def test_the_interval_follows_the_confidence_level() -> None:
    # R: binom.test(5, 10, conf.level = 0.9)$conf.int
    assert clopper_pearson(5, 10, 0.9) == pytest.approx((0.2224411, 0.7775589), abs=1e-6)
    assert Share(5, 10, 0.9).interval == pytest.approx((0.2224411, 0.7775589), abs=1e-6)
    assert Share(5, 10).interval == pytest.approx((0.1870860, 0.8129140), abs=1e-6)


def test_negative_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and trials"):
        clopper_pearson(-1, 10)
    with pytest.raises(ValueError, match="at least one trial"):
        clopper_pearson(0, -1)
    with pytest.raises(ValueError, match="at least one trial"):
        clopper_pearson(0, 0)
    assert clopper_pearson(0, 1) == pytest.approx((0.0, 0.975), abs=1e-9)


def test_shares_add_up_and_keep_their_confidence() -> None:
    total = Share(3, 10, 0.9) + Share(4, 30, 0.9)
    assert (total.numerator, total.denominator, total.confidence) == (7, 40, 0.9)
    rest = Share(7, 40, 0.9) - Share(3, 10, 0.9)
    assert (rest.numerator, rest.denominator, rest.confidence) == (4, 30, 0.9)
    assert Share(3, 40).value == 0.075


def test_means_add_up_and_keep_their_confidence() -> None:
    first = Mean(2, 30.0, 500.0, 0.9)  # 10, 20
    second = Mean(2, 70.0, 2500.0, 0.9)  # 30, 40
    both = first + second
    assert (both.count, both.total, both.total_squares, both.confidence) == (4, 100.0, 3000.0, 0.9)
    back = both - second
    assert (back.count, back.total, back.total_squares, back.confidence) == (2, 30.0, 500.0, 0.9)
    # 90 %: half-width = 1.644854 × 12.9099 / 2 = 10.6175
    assert both.interval == pytest.approx((14.3825, 35.6175), abs=1e-3)


def test_a_mean_of_one_value_has_no_interval_and_of_none_no_value() -> None:
    one = Mean(1, 7.0, 49.0)
    assert one.value == 7.0 and one.sd is None and one.interval is None
    assert Mean(0, 0.0, 0.0).value is None and Mean(0, 0.0, 0.0).interval is None
    same = Mean(3, 15.0, 75.0)  # 5, 5, 5: no spread
    assert same.sd == 0.0 and same.interval == (5.0, 5.0)
    assert Mean(2, 30.0, 500.0).sd == pytest.approx(7.0710678, abs=1e-6)  # 10 and 20
    # Rounding may leave a tiny negative variance; it counts as none.
    assert Mean(2, 2.0, 2.0 - 1e-12).sd == 0.0
