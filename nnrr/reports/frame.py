"""The unit of analysis as one query: courses joined to their completed forms.

One row per **course** with a completed Behandlerskjema (1b) and a completed pre-treatment form
(1a) with consent (indicators.md). The 6- and 12-month forms are joined when completed. The
answers and scores the indicators need are pulled out of the stored JSON as columns, so every
indicator is a ``Count(filter=...)`` the database computes; nothing loops over forms in Python.

A completed form of each kind is unique per course (a database constraint), so the joins never
multiply rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import (
    Case,
    F,
    FilteredRelation,
    FloatField,
    Func,
    IntegerField,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import (  # type: ignore[attr-defined]
    KeyTextTransform,
    KeyTransform,
    compile_json_path,
)
from django.db.models.functions import Cast, Substr

from nnrr.lib.scopes import unscoped
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormStatus, consent_given

# Form aliases in the frame.
CLINICIAN = "f1b"
BASELINE = "f1a"
SIX = "f6"
TWELVE = "f12"


class JsonNumber(Func):
    """A JSON value as a float when it is a JSON number; NULL otherwise (missing, null, text).

    Django's text transform would turn a stored JSON ``null`` into the string 'null' on SQLite,
    and a cast of jsonb ``null`` fails on PostgreSQL; a missing score is a missing value here.
    Lookups on it are the float field's (``__gte``, ``__in``), not the JSON key lookups.
    """

    output_field = FloatField()

    def __init__(self, key: str, field_path: str) -> None:
        super().__init__(KeyTransform(key, field_path))

    def as_sql(  # type: ignore[override]  # other databases
        self, compiler: Any, connection: Any, **extra: Any
    ) -> Any:
        return compiler.compile(Cast(self.get_source_expressions()[0], FloatField()))

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return (
            f"(CASE WHEN jsonb_typeof({sql}) = 'number' THEN ({sql})::double precision END)",
            (*params, *params),
        )

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        key = self.get_source_expressions()[0]
        lhs, params, key_transforms = key.preprocess_lhs(compiler, connection)
        path = compile_json_path(key_transforms)
        return (
            f"(CASE WHEN JSON_TYPE({lhs}, %s) IN ('integer', 'real') "
            f"THEN JSON_EXTRACT({lhs}, %s) END)",
            (*params, path, *params, path),
        )


class DaysBetween(Func):
    """Whole days from ``start`` (a date column) to ``end`` (an ISO date text)."""

    output_field = IntegerField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return (
            f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)",
            (*end_params, *start_params),
        )

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return f"(CAST({end_sql} AS date) - {start_sql})", (*end_params, *start_params)


def number(alias: str, key: str, field: str = "answers") -> JsonNumber:
    """A numeric answer or score as a float column (NULL when missing)."""
    return JsonNumber(key, f"{alias}__{field}")


def ticked(alias: str, key: str) -> Case:
    """1 when a checkbox item is ticked (stored as JSON true), else 0 (unticked or not shown)."""
    return Case(
        When(Q(**{f"{alias}__answers__{key}": True}), then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )


def _completed(kind: str, **extra: Any) -> FilteredRelation:
    condition = Q(responses__kind=kind, responses__status=FormStatus.FERDIGSTILT)
    for key, value in extra.items():
        condition &= Q(**{f"responses__{key}": value})
    return FilteredRelation("responses", condition=condition)


# The reports count every unit's courses whoever asks: a report sets a unit beside the others
# and the country, and the counts are cached once for every viewer (indicators.counted_cached).
# They leave as counts per unit, with small numbers suppressed, never as rows.
REPORTS_SPAN = "the reports: counts per unit over every unit, the same for every viewer"


def courses() -> Any:  # a QuerySet[Course] with annotations the type checker cannot see
    """Courses in the unit of analysis (every unit's: :data:`REPORTS_SPAN`), with their visit
    and follow-up years."""
    visit = KeyTextTransform("S1b_DateOfCompletion", f"{CLINICIAN}__answers")
    with unscoped(REPORTS_SPAN):
        active = Course.objects.filter(status=Course.Status.ACTIVE)
    return (
        active.annotate(
            **{
                CLINICIAN: _completed(FormKind.CLINICIAN),
                BASELINE: FilteredRelation("responses", condition=consent_given("responses__")),
            }
        )
        .filter(**{f"{CLINICIAN}__id__isnull": False, f"{BASELINE}__id__isnull": False})
        .annotate(
            visit_text=Substr(visit, 1, 10),  # plain text: ordinary (not JSON) lookups
            visit_year=Cast(Substr(visit, 1, 4), IntegerField()),
            visit_month=Cast(Substr(visit, 6, 2), IntegerField()),
        )
        .filter(visit_year__isnull=False)
        .annotate(
            # Besøksdato + 6 calendar months (month-end clamping never changes the year).
            followup_year=F("visit_year")
            + Case(When(visit_month__gte=7, then=Value(1)), default=Value(0))
        )
    )


def visits_in(first_year: int, last_year: int) -> Q:
    """Courses whose Besøksdato falls in the years ``first_year``..``last_year``.

    Besides the year itself, the condition compares the Besøksdato as ISO text (the same order
    as dates): that comparison is what the partial expression index ``response_visit_date``
    serves, so the database reads only those years' forms however many years the registry holds.
    For a well-formed date the two conditions select the same courses.
    """
    return Q(
        visit_text__gte=f"{first_year:04d}-01-01",
        visit_text__lt=f"{last_year + 1:04d}-01-01",
        visit_year__gte=first_year,
        visit_year__lte=last_year,
    )


def follow_ups_in(first_year: int, last_year: int) -> Q:
    """Courses whose 6-month follow-up year (``followup_year``) is in ``first_year``..``last_year``:
    Besøksdato from 1 July of the year before the first to 30 June of the last."""
    return Q(
        visit_text__gte=f"{first_year - 1:04d}-07-01",
        visit_text__lt=f"{last_year:04d}-07-01",
        followup_year__gte=first_year,
        followup_year__lte=last_year,
    )


def with_follow_up(queryset: Any, *, twelve: bool = False) -> Any:
    """Join the completed 6-month (and optionally 12-month) form; ``has6`` is 1 when present."""
    queryset = queryset.annotate(**{SIX: _completed(FormKind.FOLLOW_UP_6)}).annotate(
        has6=Case(
            When(Q(**{f"{SIX}__id__isnull": False}), then=Value(1)),
            default=Value(0),
            output_field=IntegerField(),
        )
    )
    if twelve:
        queryset = queryset.annotate(**{TWELVE: _completed(FormKind.FOLLOW_UP_12)}).annotate(
            has12=Case(
                When(Q(**{f"{TWELVE}__id__isnull": False}), then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
    return queryset
