"""Outcome shares adjusted for differences in patient mix (indirect standardisation).

A logistic model of the indicator's numerator is fitted on every course in the denominator
nationally, with the patient mix at baseline as covariates: age, sex, ODI before treatment, pain
for a year or longer, and higher education. Each unit's *expected* count is the sum of the
model's probabilities over its own courses; its adjusted share is

    national share × observed ÷ expected,

with the exact interval of the observed count scaled the same way. A unit whose patients are
harder to help than the country's average thus gets an adjusted share above its crude one.
Missing covariates are filled with the national mean (a missing-value flag keeps them apart).

The per-course rows are read from the database (aggregates cannot fit a model), for the one year
shown; nothing about a person leaves this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import ExtractYear

from nnrr.reports import frame
from nnrr.reports import indicators as ind
from nnrr.reports.frame import BASELINE, number
from nnrr.reports.stats import clopper_pearson

log = logging.getLogger(__name__)
MIN_ROWS = 100


@dataclass(frozen=True)
class Adjusted:
    observed: int
    expected: float
    denominator: int
    value: float
    low: float
    high: float


def _design(rows: list[tuple[Any, ...]]) -> np.ndarray:
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=float)
    columns = [np.ones(len(rows))]
    for index in range(data.shape[1]):
        column = data[:, index]
        missing = np.isnan(column)
        mean = float(np.nanmean(column)) if (~missing).any() else 0.0
        filled = np.where(missing, mean, column)
        if np.ptp(filled) == 0:
            continue  # the same for everyone: says nothing, and would make the model singular
        columns.append(filled)
        if missing.any() and (~missing).any():
            columns.append(missing.astype(float))
    return np.column_stack(columns)


def adjusted(indicator: ind.Indicator, year: int) -> dict[int, Adjusted] | None:
    """Adjusted shares per unit for an outcome indicator in one follow-up year; None when the
    model cannot be fitted (too few courses, or the data leave it undetermined)."""
    import statsmodels.api as sm

    if not indicator.is_outcome:
        return None
    queryset = (
        ind.outcome_frame()
        .filter(indicator.denominator, frame.follow_ups_in(year, year))
        .alias(
            odi_base=number(BASELINE, "OdiScore", "scores"),
            duration=number(BASELINE, "PainDurationNow"),
            education=number(BASELINE, "EducationLevel"),
        )
        .annotate(
            hit=Case(
                When(indicator.numerator, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            age=F("visit_year") - ExtractYear("patient__birth_date"),
            female=Case(
                When(patient__sex="F", then=Value(1)), default=Value(0), output_field=IntegerField()
            ),
            long_pain=Case(
                When(duration__gte=4, then=Value(1)),
                When(duration__isnull=True, then=Value(None)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            higher_education=Case(
                When(education__gte=4, then=Value(1)),
                When(education__isnull=True, then=Value(None)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            baseline_odi=F("odi_base"),
        )
        .values_list(
            "unit_id", "hit", "age", "female", "baseline_odi", "long_pain", "higher_education"
        )
    )
    rows = list(queryset)
    if len(rows) < MIN_ROWS:
        return None
    units = [row[0] for row in rows]
    outcome = np.array([row[1] for row in rows], dtype=float)
    if outcome.min() == outcome.max():
        return None
    design = _design([row[2:] for row in rows])
    try:
        fitted = sm.GLM(outcome, design, family=sm.families.Binomial()).fit()
    except Exception:  # separation or a singular design: no adjustment rather than a wrong one
        log.warning("patient-mix model for %s %s could not be fitted", indicator.id, year)
        return None
    predicted = fitted.predict(design)
    national = float(outcome.mean())
    result: dict[int, Adjusted] = {}
    for unit_id in set(units):
        mask = np.array([u == unit_id for u in units])
        observed = int(outcome[mask].sum())
        expected = float(predicted[mask].sum())
        count = int(mask.sum())
        if expected <= 0:
            continue
        low, high = clopper_pearson(observed, count)
        scale = national * count / expected
        result[unit_id] = Adjusted(
            observed,
            expected,
            count,
            min(1.0, national * observed / expected),
            min(1.0, low * scale),
            min(1.0, high * scale),
        )
    return result
