"""Indicator targets and report thresholds: configuration, not code (indicators.md).

The shipped defaults are ``data/indicators.toml``; ``settings.REPORTS_CONFIG`` (environment
``NNRR_REPORTS_CONFIG``) names a TOML file whose keys override them, so the registry can move a
target without a release. Read on every call: a changed file applies to the next report.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from nnrr.reports.stats import Share

DEFAULTS = Path(__file__).parent / "data" / "indicators.toml"
# Ids of earlier versions of indicators.md: a configuration file that still names one sets the
# target of the indicator under its new id (the registry's production ids, nnrrBeregnIndikator).
RENAMED_IDS = {"nnrr_jobb": "nnrr_jobb_ny_v1", "nnrr_jobb_v2": "nnrr_jobb_ny_v2"}


@dataclass(frozen=True)
class Target:
    goal: float | None
    minimum: float | None


@dataclass(frozen=True)
class ReportConfig:
    min_denominator: int
    coverage_flag_below: float
    small_cell: int
    years_shown: int
    national_file_from_year: int
    confidence: float
    waiting_days_target: int
    targets: dict[str, Target]

    def target(self, ind_id: str) -> Target:
        return self.targets.get(ind_id, Target(None, None))

    # The two presentation rules of indicators.md, defined here once for every report, table,
    # chart and note that applies them.

    def too_few(self, share: Share) -> bool:
        """A share on fewer courses than ``min_denominator`` is not shown, only marked."""
        return share.denominator < self.min_denominator

    @property
    def too_few_mark(self) -> str:
        """What is shown instead: «N<30» with the default threshold."""
        return f"N<{self.min_denominator}"

    def coverage_low(self, coverage: Share) -> bool:
        """A unit's coverage below ``coverage_flag_below`` is flagged (``*``); a unit without a
        coverage figure is not."""
        return coverage.denominator > 0 and (coverage.value or 0) < self.coverage_flag_below


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ImproperlyConfigured(f"report configuration {path}: {exc}") from exc


def _share(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ImproperlyConfigured(f"{where} must be a share between 0 and 1, not {value!r}")
    return float(value)


def load() -> ReportConfig:
    data = _read(DEFAULTS)
    override_path = getattr(settings, "REPORTS_CONFIG", "")
    if override_path:
        override = _read(Path(override_path))
        data["presentation"].update(override.get("presentation", {}))
        for ind_id, values in override.get("goals", {}).items():
            data["goals"][RENAMED_IDS.get(ind_id, ind_id)] = values
    p = data["presentation"]
    targets = {
        ind_id: Target(
            _share(values.get("goal"), f"{ind_id}.goal"),
            _share(values.get("minimum"), f"{ind_id}.minimum"),
        )
        for ind_id, values in data["goals"].items()
    }
    try:
        return ReportConfig(
            min_denominator=int(p["min_denominator"]),
            coverage_flag_below=float(_share(p["coverage_flag_below"], "coverage_flag_below") or 0),
            small_cell=int(p["small_cell"]),
            years_shown=int(p["years_shown"]),
            national_file_from_year=int(p["national_file_from_year"]),
            confidence=float(p["confidence"]),
            waiting_days_target=int(p["waiting_days_target"]),
            targets=targets,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"report configuration: {exc}") from exc
