"""The worklists' counts and pages.

A worklist page is the busiest read of the clinic side (every clinician opens "Mine uferdige
skjema" many times a day). Each list starts from a maintained marker (``UnfinishedCourse``,
``WaitingOrder``: one row per unfinished course or open pre-treatment order, kept by database
triggers, in the list's order on their index). A count reads the marker alone; a page takes its
slice of the marker first (a subquery with its LIMIT, so the database joins only the page's rows,
never the unit's whole history) and is scoped to the unit twice: on the marker and on the course
it joins.

The consent log's page is the third list of "Pasienter uten informasjon om samtykke".
The functions take the unit's id from the active profile through ``nnrr.access``, the one way
in to patient data; views do not call them directly. ``tests/worklists/test_reads.py`` checks
them against the lists' definitions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    Case,
    Count,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)

from nnrr.patients.models import ConsentLogEntry, Course
from nnrr.questionnaires.models import FormKind, FormReturn, FormStatus
from nnrr.scheduling.models import OPEN_STATES, Order
from nnrr.worklists.models import UnfinishedCourse, WaitingOrder

# What a worklist row shows of a course: its patient, dates, owner, its Behandlerskjema (at
# most one per course: a unique index) and, for a returned form, the latest reason given.
COURSE_COLUMNS = (
    "id",
    "patient_id",
    "referral_date",
    "planned_consultation_date",
    "patient__name",
    "patient__national_id",
    "owner__full_name",
    "owner__username",
    "form_id",
    "form_status",
    "return_reason",
)

WAITING_COLUMNS = (
    "state",
    "expires_at",
    "course__patient_id",
    "course__planned_consultation_date",
    "course__patient__name",
    "course__patient__national_id",
)

CONSENT_LOG_COLUMNS = (
    "name",
    "national_id",
    "referral_date",
    "planned_consultation_date",
    "reason",
    "recorded_at",
)


def _marks(
    unit_id: int, owner_id: int | None, planned_before: dt.date | None
) -> QuerySet[UnfinishedCourse]:
    marks = UnfinishedCourse.objects.filter(unit_id=unit_id)
    if owner_id is not None:
        marks = marks.filter(owner_id=owner_id)
    if planned_before is not None:
        marks = marks.filter(planned_consultation_date__lt=planned_before)
    return marks


def count_unfinished(
    unit_id: int, *, owner_id: int | None = None, planned_before: dt.date | None = None
) -> int:
    """How many courses of the unit have an unfinished Behandlerskjema (the owner's, or planned
    before a day, when given)."""
    return _marks(unit_id, owner_id, planned_before).count()


def unfinished_counts(unit_id: int, *, owner_id: int, today: dt.date) -> dict[str, int]:
    """The counts of "Mine" (``owner_id``'s), "Utgått planlagt konsultasjonsdato" (planned
    before ``today``) and the unit's unfinished forms, in one query on the marker (an index-only
    scan of the unit's entries)."""
    return UnfinishedCourse.objects.filter(unit_id=unit_id).aggregate(
        mine=Count("pk", filter=Q(owner_id=owner_id)),
        overdue=Count("pk", filter=Q(planned_consultation_date__lt=today)),
        unit=Count("pk"),
    )


def unfinished_page(
    unit_id: int,
    *,
    offset: int,
    limit: int,
    owner_id: int | None = None,
    planned_before: dt.date | None = None,
) -> list[dict[str, Any]]:
    """A page of those courses, in the worklists' order (planned date, then booking time), as
    dicts of :data:`COURSE_COLUMNS`."""
    page = (
        _marks(unit_id, owner_id, planned_before)
        .order_by("planned_consultation_date", "created_at", "course_id")
        .values("course_id")[offset : offset + limit]
    )
    latest_reason = (
        FormReturn.objects.filter(response=OuterRef("clinician__pk"))
        .order_by("-returned_at", "-id")
        .values("reason")[:1]
    )
    return list(
        Course.objects.filter(pk__in=page, unit_id=unit_id)
        # The Behandlerskjema joined as in the page's own row (at most one per course).
        .annotate(
            clinician=FilteredRelation("responses", condition=Q(responses__kind=FormKind.CLINICIAN))
        )
        .annotate(
            form_id=F("clinician__pk"),
            form_status=F("clinician__status"),
            return_reason=Case(
                When(form_status=FormStatus.RETURNERT, then=Subquery(latest_reason))
            ),
        )
        # The marker's order: it holds copies of these two course fields.
        .order_by("planned_consultation_date", "created_at", "pk")
        .values(*COURSE_COLUMNS)
    )


def count_waiting(unit_id: int) -> int:
    """How many open pre-treatment orders the unit has."""
    return WaitingOrder.objects.filter(unit_id=unit_id).count()


def waiting_page(unit_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of them, by the course's planned date, as dicts of :data:`WAITING_COLUMNS`."""
    page = (
        WaitingOrder.objects.filter(unit_id=unit_id)
        .order_by("planned_consultation_date", "created_at", "order_id")
        .values("order_id")[offset : offset + limit]
    )
    return list(
        Order.objects.filter(
            pk__in=page,
            kind=FormKind.PRE_TREATMENT,
            state__in=OPEN_STATES,
            course__unit_id=unit_id,
        )
        .order_by("course__planned_consultation_date", "course__created_at", "pk")
        .values(*WAITING_COLUMNS)
    )


def consent_log_page(unit_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of the unit's part of the statutory log of people whose course was deleted
    without consent or whose consent was withdrawn, newest first, as dicts of
    :data:`CONSENT_LOG_COLUMNS`."""
    return list(
        ConsentLogEntry.objects.filter(unit_id=unit_id)
        .order_by("-recorded_at", "-id")
        .values(*CONSENT_LOG_COLUMNS)[offset : offset + limit]
    )
