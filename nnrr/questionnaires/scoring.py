"""Scores computed from a submitted patient form (domain.md §3), and their interpretation bands.

``score(instrument, answers)`` applies one rule; ``compute_scores(form_kind, answers)`` returns the
columns stored with a form; ``band(column, value)`` interprets a stored score for the clinician's
summary screen.

Answers are keyed by item id (the NNRR column name) and hold the stored answer codes. An item is
*missing* when its key is absent or its value is ``None``; each rule says how many items may be
missing before the score itself is missing (``None``).

Invalid input is never scored: a code outside the item's range, a string, a float or a bool
where an integer code is expected raises :class:`ValueError` naming the item. (``bool`` is a
subclass of ``int`` in Python, so ``True`` would otherwise pass as code 1.) Pain-drawing items are
the opposite case: they are checkboxes and must be ``True``, ``False`` or ``None``.

EQ-5D-5L index values come from a published value set, a YAML file under ``valuesets/``; the
Django setting ``EQ5D_VALUE_SET`` names the one in use and is read on every call, so tests and
operators can switch it. A value set file holds ``name`` (= file name without ``.yaml``),
``title``, ``country``, ``citation``, ``doi``, ``intercept`` (subtracted once from every state
but 11111; 0 for most sets), ``decrements`` (per dimension, levels 2–5) and ``published_values``
(states with the index the publication gives), which the loader recomputes so that a mistyped
coefficient stops the app at start-up (system check ``check_value_set``) instead of skewing data.

Rounding of stored columns (``compute_scores``) is half away from zero, like a spreadsheet's
ROUND, not Python's half-to-even ``round`` (NDI 1.25 is stored as 1.3, not 1.2):

- ``OdiScore``, ``NdiScore``, ``NdiPercent``: 1 decimal (``NdiPercent`` is twice the unrounded
  ``NdiScore``, so it is not a doubled rounding error);
- ``HSCL10Score``: 2 decimals, which cannot move a mean across the 1.85 cut-off (a mean of 8–10
  item codes never lies in [1.845, 1.85));
- ``Score_EQ5DL``: 3 decimals, the precision value sets are published with (``score`` already
  returns it rounded);
- FABQ, UHI and pain-region counts are integers; ``Eq5d_L_spm6`` (VAS) is copied through.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from pathlib import Path
from typing import Any, Final, TypeAlias

import yaml
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import get_language

ScoreValue: TypeAlias = float | int | None

# --- Item ids (domain.md §2.2, §3) -------------------------------------------------------------

ODI_ITEMS: Final = (
    "OdiPain",
    "OdiPersonalCare",
    "OdiLift",
    "OdiWalk",
    "OdiSit",
    "OdiStand",
    "OdiSleep",
    "OdiSex",
    "OdiSocial",
    "OdiTravel",
)
NDI_ITEMS: Final = (
    "NdiIntensity",
    "NdiPersonalCare",
    "NdiLift",
    "NdiRead",
    "NdiHeadache",
    "NdiConcentration",
    "NdiWork",
    "NdiDriving",
    "NdiSleep",
    "NdiLeisure",
)
HSCL10_ITEMS: Final = tuple(f"Hscl10Q{i}" for i in range(1, 11))
FABQ_PHYSICAL_ITEMS: Final = tuple(f"FabQ{i}" for i in range(1, 5))
FABQ_WORK_ITEMS: Final = tuple(f"FabQ{i}" for i in range(5, 12))
UHI_ITEMS: Final = tuple(f"UhiQ{i}" for i in range(1, 34))
# Neck, upper-back and low-back pain: the patient's main complaint, so not a "subjective health
# complaint" beyond it.
UHI_EXCLUDED_ITEMS: Final = frozenset({"UhiQ5", "UhiQ6", "UhiQ7"})
UHI_COUNTED_ITEMS: Final = tuple(item for item in UHI_ITEMS if item not in UHI_EXCLUDED_ITEMS)
EQ5D_ITEMS: Final = ("Eq5d_L_spm1", "Eq5d_L_spm2", "Eq5d_L_spm3", "Eq5d_L_spm4", "Eq5d_L_spm5")
EQ5D_VAS_ITEM: Final = "Eq5d_L_spm6"
PAIN_REGION_PREFIX: Final = "IsPain"

# Answer code ranges as stored (domain.md §3).
ODI_CODES: Final = (1, 6)
NDI_CODES: Final = (1, 6)
HSCL10_CODES: Final = (1, 4)
FABQ_CODES: Final = (0, 6)
UHI_CODES: Final = (0, 3)
EQ5D_CODES: Final = (1, 5)
VAS_RANGE: Final = (0, 100)

# ODI, NDI and HSCL-10 tolerate two missing items out of ten.
MIN_ANSWERED_OF_TEN: Final = 8
UHI_MIN_COUNTED_ANSWERED: Final = 3
UHI_HIGH_CODE: Final = 2


# --- Reading answers ---------------------------------------------------------------------------


def _code(answers: Mapping[str, object], item: str, low: int, high: int) -> int | None:
    """The integer code stored for ``item``, or None when it is missing.

    Raises ValueError for anything that is not an int in ``low..high``; a bool is refused
    explicitly because ``isinstance(True, int)`` holds.
    """
    value = answers.get(item)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(
            f"{item}: {value!r} ({type(value).__name__}) is not an answer code; "
            f"expected an integer {low}–{high} or no answer"
        )
    if not low <= value <= high:
        raise ValueError(f"{item}: code {value} is outside {low}–{high}")
    return value


def _answered(
    answers: Mapping[str, object], items: Sequence[str], codes: tuple[int, int]
) -> list[int]:
    """Codes of the answered ``items``, in order; each present item is validated."""
    low, high = codes
    return [code for item in items if (code := _code(answers, item, low, high)) is not None]


# --- The rules ---------------------------------------------------------------------------------


def _odi(answers: Mapping[str, object]) -> float | None:
    codes = _answered(answers, ODI_ITEMS, ODI_CODES)
    if len(codes) < MIN_ANSWERED_OF_TEN:
        return None
    # Item score = code - 1 (0-5); the percentage is taken of the maximum for the answered items.
    return 100 * sum(code - 1 for code in codes) / (5 * len(codes))


def _ndi(answers: Mapping[str, object]) -> float | None:
    codes = _answered(answers, NDI_ITEMS, NDI_CODES)
    if len(codes) < MIN_ANSWERED_OF_TEN:
        return None
    # Points 0-50, prorated to ten items.
    return sum(code - 1 for code in codes) * 10 / len(codes)


def _hscl10(answers: Mapping[str, object]) -> float | None:
    codes = _answered(answers, HSCL10_ITEMS, HSCL10_CODES)
    if len(codes) < MIN_ANSWERED_OF_TEN:
        return None
    return sum(codes) / len(codes)


def _complete_sum(
    answers: Mapping[str, object], items: Sequence[str], codes: tuple[int, int]
) -> int | None:
    answered = _answered(answers, items, codes)
    return sum(answered) if len(answered) == len(items) else None


def _fabq_physical(answers: Mapping[str, object]) -> int | None:
    return _complete_sum(answers, FABQ_PHYSICAL_ITEMS, FABQ_CODES)


def _fabq_work(answers: Mapping[str, object]) -> int | None:
    return _complete_sum(answers, FABQ_WORK_ITEMS, FABQ_CODES)


def _uhi_high_count(answers: Mapping[str, object]) -> int | None:
    # Items 5-7 are validated like the others: a bad code is a bad form even if it is not counted.
    _answered(answers, sorted(UHI_EXCLUDED_ITEMS), UHI_CODES)
    codes = _answered(answers, UHI_COUNTED_ITEMS, UHI_CODES)
    if len(codes) < UHI_MIN_COUNTED_ANSWERED:
        return None
    return sum(1 for code in codes if code >= UHI_HIGH_CODE)


def _pain_regions(answers: Mapping[str, object]) -> int | None:
    # A skipped pain drawing is stored without region answers (see
    # validation.drop_untouched_pain_drawing): missing, never 0 regions.
    if not any(item.startswith(PAIN_REGION_PREFIX) for item in answers):
        return None
    count = 0
    for item, value in answers.items():
        if not item.startswith(PAIN_REGION_PREFIX) or value is None:
            continue
        if not isinstance(value, bool):
            raise ValueError(
                f"{item}: {value!r} ({type(value).__name__}) is not a checkbox answer; "
                "expected True, False or no answer"
            )
        if value:
            count += 1
    return count


def _eq5d5l_index(answers: Mapping[str, object]) -> float | None:
    # Looked up on every call, and before the missing-answer rule, so that a misconfigured
    # EQ5D_VALUE_SET fails on every form rather than only on complete ones.
    value_set = get_value_set()
    levels = _answered(answers, EQ5D_ITEMS, EQ5D_CODES)
    if len(levels) < len(EQ5D_ITEMS):
        return None
    return _round_half_up(value_set.index(levels), 3)


_SCORERS: Final[dict[str, Callable[[Mapping[str, object]], ScoreValue]]] = {
    "odi": _odi,
    "ndi": _ndi,
    "hscl10": _hscl10,
    "fabq_physical": _fabq_physical,
    "fabq_work": _fabq_work,
    "uhi_high_count": _uhi_high_count,
    "pain_regions": _pain_regions,
    "eq5d5l_index": _eq5d5l_index,
}
INSTRUMENTS: Final = tuple(_SCORERS)


def score(instrument: str, answers: Mapping[str, object]) -> ScoreValue:
    """Score one instrument from a form's answers (domain.md §3).

    Returns None when too many items are missing for the rule. ODI (0–100), NDI points (0–50),
    HSCL-10 (mean 1–4) are returned unrounded; FABQ sums, the UHI count and the pain-region count
    are ints; the EQ-5D-5L index is rounded to 3 decimals. Only the instrument's own items are
    read and validated. Raises ValueError for an unknown instrument or an invalid answer, and
    ImproperlyConfigured for an unknown ``EQ5D_VALUE_SET``.
    """
    try:
        scorer = _SCORERS[instrument]
    except KeyError:
        raise ValueError(
            f"Unknown instrument {instrument!r}; known: {', '.join(INSTRUMENTS)}"
        ) from None
    return scorer(answers)


# --- Stored columns ----------------------------------------------------------------------------

# Forms that carry patient-reported instruments; follow-ups lack FABQ, HSCL-10, UHI and the pain
# drawing (domain.md §2.3).
_BASELINE_FORM: Final = "1a"
_FOLLOW_UP_FORMS: Final = frozenset({"2", "3"})
_CLINICIAN_FORM: Final = "1b"


def _round_half_up(value: float, places: int) -> float:
    # Decimal(repr(...)) rounds the number as written (2.675 -> 2.68), not its binary neighbour.
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else _round_half_up(value, places)


def compute_scores(form_kind: str, answers: Mapping[str, object]) -> dict[str, ScoreValue]:
    """The score columns stored with a submitted form of ``form_kind`` ("1a", "1b", "2", "3").

    Form 1a gets every column; follow-up forms 2 and 3 get ODI, NDI and EQ-5D-5L (index and VAS);
    the clinician form 1b gets none. Rounding is described in the module docstring. Raises
    ValueError for an unknown form kind or an invalid answer.
    """
    kind = str(form_kind)  # FormKind is a str-valued TextChoices; accept either.
    if kind == _CLINICIAN_FORM:
        return {}
    if kind != _BASELINE_FORM and kind not in _FOLLOW_UP_FORMS:
        raise ValueError(f"Unknown form kind {kind!r}; expected 1a, 1b, 2 or 3")

    odi = _odi(answers)
    ndi = _ndi(answers)
    columns: dict[str, ScoreValue] = {
        "OdiScore": _rounded(odi, 1),
        "NdiScore": _rounded(ndi, 1),
        "NdiPercent": _rounded(None if ndi is None else 2 * ndi, 1),
    }
    if kind == _BASELINE_FORM:
        columns["HSCL10Score"] = _rounded(_hscl10(answers), 2)
        columns["FABQScore1"] = _fabq_physical(answers)
        columns["FABQScore2"] = _fabq_work(answers)
        columns["UhiHighCount"] = _uhi_high_count(answers)
        columns["NofPainRegions"] = _pain_regions(answers)
    columns["Score_EQ5DL"] = _eq5d5l_index(answers)
    columns["Eq5d_L_spm6"] = _code(answers, EQ5D_VAS_ITEM, *VAS_RANGE)
    return columns


# --- EQ-5D-5L value sets -----------------------------------------------------------------------

VALUE_SET_DIR: Final = Path(__file__).resolve().parent / "valuesets"
EQ5D_DIMENSIONS: Final = (
    "mobility",
    "self_care",
    "usual_activities",
    "pain_discomfort",
    "anxiety_depression",
)
# Published values are given to 3 decimals: a recomputed index must round to them.
_PUBLISHED_TOLERANCE: Final = 0.0005 + 1e-9


class ValueSetError(ValueError):
    """A value set file that is malformed or contradicts its own published values."""


@dataclass(frozen=True)
class ValueSet:
    """One published EQ-5D-5L value set: citation and additive decrement model."""

    name: str
    title: str
    country: str
    citation: str
    doi: str
    intercept: float
    # Per dimension (EQ5D_DIMENSIONS order): decrements for levels 1-5, level 1 being 0.
    decrements: tuple[tuple[float, ...], ...]

    def index(self, levels: Sequence[int]) -> float:
        """Unrounded index of a health state given as five levels (1–5), MO SC UA PD AD."""
        if len(levels) != len(EQ5D_DIMENSIONS) or any(
            isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5
            for level in levels
        ):
            raise ValueError(f"{levels!r} is not an EQ-5D-5L health state (five levels 1–5)")
        if all(level == 1 for level in levels):
            return 1.0
        loss = sum(steps[level - 1] for steps, level in zip(self.decrements, levels, strict=True))
        return 1.0 - self.intercept - loss


def _number(raw: object, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise ValueSetError(f"{where}: {raw!r} is not a number")
    return float(raw)


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueSetError(f"{where}: '{key}' must be a non-empty text")
    return value.strip()


def _parse_value_set(path: Path) -> ValueSet:
    where = path.name
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, Mapping):
        raise ValueSetError(f"{where}: expected a mapping at the top level")
    name = _text(raw, "name", where)
    if name != path.stem:
        raise ValueSetError(f"{where}: name {name!r} must equal the file name {path.stem!r}")
    intercept = _number(raw.get("intercept", 0.0), f"{where}: intercept")
    if intercept < 0:
        raise ValueSetError(f"{where}: intercept must not be negative")

    decrements_raw = raw.get("decrements")
    if not isinstance(decrements_raw, Mapping) or set(decrements_raw) != set(EQ5D_DIMENSIONS):
        raise ValueSetError(f"{where}: 'decrements' must list exactly {', '.join(EQ5D_DIMENSIONS)}")
    decrements = []
    for dimension in EQ5D_DIMENSIONS:
        steps = decrements_raw[dimension]
        here = f"{where}: decrements.{dimension}"
        if not isinstance(steps, list) or len(steps) != 4:
            raise ValueSetError(f"{here}: give four decrements, for levels 2, 3, 4 and 5")
        values = (0.0, *(_number(step, here) for step in steps))
        # A worse level must never score better: the index is monotone by construction.
        if any(later < earlier for earlier, later in pairwise(values)):
            raise ValueSetError(f"{here}: decrements must be non-negative and non-decreasing")
        decrements.append(values)

    value_set = ValueSet(
        name=name,
        title=_text(raw, "title", where),
        country=_text(raw, "country", where),
        citation=" ".join(_text(raw, "citation", where).split()),
        doi=_text(raw, "doi", where),
        intercept=intercept,
        decrements=tuple(decrements),
    )

    published = raw.get("published_values")
    if not isinstance(published, Mapping) or not published:
        raise ValueSetError(f"{where}: 'published_values' must give at least one state's index")
    for state, expected in published.items():
        here = f"{where}: published_values[{state!r}]"
        state_text = str(state)
        if len(state_text) != len(EQ5D_DIMENSIONS) or not state_text.isdigit():
            raise ValueSetError(f"{here}: a state is five digits, e.g. '21111'")
        try:
            computed = value_set.index([int(digit) for digit in state_text])
        except ValueError as exc:
            raise ValueSetError(f"{here}: {exc}") from None
        if abs(computed - _number(expected, here)) > _PUBLISHED_TOLERANCE:
            raise ValueSetError(
                f"{here}: the decrements give {computed:.6f}, the publication {expected}"
            )
    return value_set


@functools.cache
def _load_value_sets(directory: Path) -> dict[str, ValueSet]:
    value_sets = {}
    for path in sorted(directory.glob("*.yaml")):
        value_set = _parse_value_set(path)
        value_sets[value_set.name] = value_set
    return value_sets


def available_value_sets() -> list[str]:
    """Names of the shipped EQ-5D-5L value sets (valid values of ``EQ5D_VALUE_SET``)."""
    return sorted(_load_value_sets(VALUE_SET_DIR))


def get_value_set(name: str | None = None) -> ValueSet:
    """The value set called ``name``, by default the one the ``EQ5D_VALUE_SET`` setting names.

    Raises ImproperlyConfigured for an unknown name (listing the available ones) or a broken
    value set file.
    """
    if name is None:
        name = getattr(settings, "EQ5D_VALUE_SET", None)
    try:
        value_sets = _load_value_sets(VALUE_SET_DIR)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ImproperlyConfigured(f"EQ-5D-5L value sets cannot be loaded: {exc}") from exc
    if not isinstance(name, str) or name not in value_sets:
        raise ImproperlyConfigured(
            f"EQ5D_VALUE_SET={name!r} is not a known EQ-5D-5L value set; "
            f"available: {', '.join(sorted(value_sets)) or '(none)'}"
        )
    return value_sets[name]


@register()
def check_value_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """System check: the value set files load, agree with their published values, and
    ``EQ5D_VALUE_SET`` names one of them."""
    try:
        get_value_set()
    except ImproperlyConfigured as exc:
        return [
            Error(
                str(exc),
                hint="Set NNRR_EQ5D_VALUE_SET to one of the value sets in "
                "nnrr/questionnaires/valuesets/.",
                id="nnrr.E110",
            )
        ]
    return []


# --- Interpretation bands ----------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """An interpretation band of a score: labels and a severity level (0 = best)."""

    key: str
    nb: str
    en: str
    level: int

    def __str__(self) -> str:
        lang = (get_language() or "nb")[:2]
        return self.en if lang == "en" else self.nb


@dataclass(frozen=True)
class _Limit:
    """The upper end of a band as the domain text states it: "0–21" ends at 21 inclusive
    (``_at_most(21)``), "<14" ends below 14 (``_below(14)``)."""

    value: float
    inclusive: bool

    def admits(self, score: float) -> bool:
        return score < self.value or (self.inclusive and score == self.value)


def _at_most(value: float) -> _Limit:
    return _Limit(value, inclusive=True)


def _below(value: float) -> _Limit:
    return _Limit(value, inclusive=False)


def _ladder(*rows: tuple[_Limit | None, str, str, str]) -> tuple[tuple[Band, _Limit | None], ...]:
    """Bands from best to worst (severity level = position), each with its upper limit."""
    return tuple(
        (Band(key, nb, en, level), limit) for level, (limit, key, nb, en) in enumerate(rows)
    )


# A value belongs to the first band whose upper limit admits it (None: open-ended top band), so a
# value between two stated ranges (ODI 21.5 between "0–21" and "22–40", NDI 4.4 between "0–4" and
# "5–14") goes to the *worse* band: it exceeds the milder band's stated limit, just as ">60" and
# ">34" treat the top bands. The comparison is on the value as stored (rounded).
_BAND_TABLE: Final[dict[str, tuple[tuple[Band, _Limit | None], ...]]] = {
    "OdiScore": _ladder(
        (_at_most(21), "minimal", "Minimal funksjonsnedsettelse", "Minimal disability"),
        (_at_most(40), "moderate", "Moderat funksjonsnedsettelse", "Moderate disability"),
        (_at_most(60), "considerable", "Betydelig funksjonsnedsettelse", "Considerable disability"),
        (None, "severe", "Alvorlig funksjonsnedsettelse", "Severe disability"),
    ),
    "NdiScore": _ladder(
        (_at_most(4), "none", "Ingen funksjonsnedsettelse", "No disability"),
        (_at_most(14), "mild", "Lett funksjonsnedsettelse", "Mild disability"),
        (_at_most(24), "moderate", "Moderat funksjonsnedsettelse", "Moderate disability"),
        (_at_most(34), "severe", "Alvorlig funksjonsnedsettelse", "Severe disability"),
        (None, "complete", "Særlig uttalt funksjonsnedsettelse", "Complete disability"),
    ),
    "FABQScore1": _ladder(
        (_below(14), "low", "Lav frykt-unngåelse", "Low fear-avoidance"),
        (_at_most(16), "moderate", "Moderat frykt-unngåelse", "Moderate fear-avoidance"),
        (None, "high", "Høy frykt-unngåelse", "High fear-avoidance"),
    ),
    "FABQScore2": _ladder(
        (_below(20), "low", "Lav frykt-unngåelse", "Low fear-avoidance"),
        (_at_most(24), "moderate", "Moderat frykt-unngåelse", "Moderate fear-avoidance"),
        (None, "high", "Høy frykt-unngåelse", "High fear-avoidance"),
    ),
    "HSCL10Score": _ladder(
        (_below(1.85), "below", "Under grensen for psykisk plage", "Below the distress threshold"),
        (None, "considerable", "Betydelig psykisk plage", "Considerable psychological distress"),
    ),
}
# Valid ranges of the banded columns; a value outside is a bug upstream, not a band.
_BAND_RANGES: Final[dict[str, tuple[float, float]]] = {
    "OdiScore": (0, 100),
    "NdiScore": (0, 50),
    "NdiPercent": (0, 100),
    "FABQScore1": (0, 24),
    "FABQScore2": (0, 42),
    "HSCL10Score": (1, 4),
}
# Stored score columns that have no interpretation bands.
_UNBANDED_COLUMNS: Final = frozenset(
    {"UhiHighCount", "NofPainRegions", "Score_EQ5DL", "Eq5d_L_spm6"}
)

BANDS: Final[dict[str, tuple[Band, ...]]] = {
    column: tuple(entry[0] for entry in table) for column, table in _BAND_TABLE.items()
}
BANDS["NdiPercent"] = BANDS["NdiScore"]


def band(score_column: str, value: object) -> Band | None:
    """The interpretation band of a stored score, or None when there is none to show.

    None is returned for a missing value and for score columns without bands (UHI count, pain
    regions, EQ-5D-5L). ``NdiPercent`` is banded as its NDI points (half the percentage). A value
    between two stated ranges falls in the worse band (see ``_BAND_TABLE``). Raises ValueError for
    an unknown column, a non-numeric value or one outside the score's range.
    """
    if score_column not in _BAND_RANGES and score_column not in _UNBANDED_COLUMNS:
        raise ValueError(f"{score_column!r} is not a score column")
    if value is None or score_column in _UNBANDED_COLUMNS:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{score_column}: {value!r} is not a score")
    low, high = _BAND_RANGES[score_column]
    if not low <= value <= high:
        raise ValueError(f"{score_column}: {value} is outside {low}–{high}")
    if score_column == "NdiPercent":
        score_column, value = "NdiScore", value / 2
    for entry, limit in _BAND_TABLE[score_column]:
        if limit is None or limit.admits(value):
            return entry
    raise AssertionError("the top band has no limit")  # pragma: no cover
