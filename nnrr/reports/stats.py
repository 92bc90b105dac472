"""Intervals: exact (Clopper–Pearson) binomial for shares, normal approximation for means."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import beta, norm


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact two-sided binomial interval for ``successes`` of ``trials``."""
    if trials <= 0:
        raise ValueError("an interval needs at least one trial")
    if not 0 <= successes <= trials:
        raise ValueError("successes must be between 0 and trials")
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = (
        1.0
        if successes == trials
        else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    )
    return low, high


@dataclass(frozen=True)
class Share:
    numerator: int
    denominator: int
    confidence: float = 0.95

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def interval(self) -> tuple[float, float] | None:
        if not self.denominator:
            return None
        return clopper_pearson(self.numerator, self.denominator, self.confidence)

    def __add__(self, other: Share) -> Share:
        return Share(
            self.numerator + other.numerator, self.denominator + other.denominator, self.confidence
        )

    def __sub__(self, other: Share) -> Share:
        return Share(
            self.numerator - other.numerator, self.denominator - other.denominator, self.confidence
        )


@dataclass(frozen=True)
class Mean:
    """A mean with a normal-approximation interval, from count, sum and sum of squares."""

    count: int
    total: float
    total_squares: float
    confidence: float = 0.95

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None

    @property
    def sd(self) -> float | None:
        if self.count < 2:
            return None
        variance = (self.total_squares - self.total**2 / self.count) / (self.count - 1)
        return math.sqrt(max(variance, 0.0))

    @property
    def interval(self) -> tuple[float, float] | None:
        sd = self.sd
        if sd is None or self.value is None:
            return None
        half = float(norm.ppf(1 - (1 - self.confidence) / 2)) * sd / math.sqrt(self.count)
        return self.value - half, self.value + half

    def __add__(self, other: Mean) -> Mean:
        return Mean(
            self.count + other.count,
            self.total + other.total,
            self.total_squares + other.total_squares,
            self.confidence,
        )

    def __sub__(self, other: Mean) -> Mean:
        return Mean(
            self.count - other.count,
            self.total - other.total,
            self.total_squares - other.total_squares,
            self.confidence,
        )
