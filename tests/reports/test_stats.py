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
