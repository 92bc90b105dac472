"""The worklists' counts and pages, read in SQL written out by hand.

A worklist page is the busiest read of the clinic side (every clinician opens "Mine uferdige
skjema" many times a day). Built with the ORM, its page query cost about 1.5 ms to compile on
every request, more than the database took to plan and run it; written out here it is one
statement per count and one per page, the same on SQLite and PostgreSQL.

The consent log's page is the third list of "Pasienter uten informasjon om samtykke". Each
worklist statement starts from a maintained marker (``UnfinishedCourse``, ``WaitingOrder``: one row
per unfinished course or open pre-treatment order, kept by database triggers, in the list's
order on their index), takes the page's slice of it first (a derived table with its LIMIT, so
the database joins only the page's rows, never the unit's whole history) and is scoped to one
unit twice: on the marker and on the course it joins.
The functions take the unit's id from the active profile through ``nnrr.access``, the one way
in to patient data; views do not call them directly. ``tests/worklists/test_reads.py`` checks
them against the ORM's definitions of the same lists.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from nnrr.accounts.models import User
from nnrr.lib.dates import date_of
from nnrr.patients.models import ConsentLogEntry, Course, Patient
from nnrr.questionnaires.models import FormKind, FormReturn, FormStatus, Response
from nnrr.scheduling.models import OPEN_STATES, Order
from nnrr.worklists.models import UnfinishedCourse, WaitingOrder

_MARKER = UnfinishedCourse._meta.db_table
_WAITING = WaitingOrder._meta.db_table
_COURSE = Course._meta.db_table
_PATIENT = Patient._meta.db_table
_USER = User._meta.db_table
_RESPONSE = Response._meta.db_table
_RETURN = FormReturn._meta.db_table
_ORDER = Order._meta.db_table

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

# The course, its patient and owner, its Behandlerskjema (at most one per course: a unique
# index) and, for a returned form, the latest reason given.
_COURSE_PAGE = f"""
SELECT c.id, c.patient_id, c.referral_date, c.planned_consultation_date,
       p.name, p.national_id, u.full_name, u.username, r.id, r.status,
       CASE WHEN r.status = %s THEN (
           SELECT fr.reason FROM {_RETURN} fr WHERE fr.response_id = r.id
           ORDER BY fr.returned_at DESC, fr.id DESC LIMIT 1
       ) END
FROM (
    SELECT w.course_id, w.unit_id, w.planned_consultation_date, w.created_at
    FROM {_MARKER} w WHERE {{where}}
    ORDER BY w.planned_consultation_date, w.created_at, w.course_id
    LIMIT %s OFFSET %s
) w
JOIN {_COURSE} c ON c.id = w.course_id AND c.unit_id = w.unit_id
JOIN {_PATIENT} p ON p.id = c.patient_id
LEFT JOIN {_USER} u ON u.id = c.owner_id
LEFT JOIN {_RESPONSE} r ON r.course_id = c.id AND r.kind = %s
ORDER BY w.planned_consultation_date, w.created_at, w.course_id
"""  # noqa: S608 - table names come from the models; every value is a parameter

WAITING_COLUMNS = (
    "state",
    "expires_at",
    "course__patient_id",
    "course__planned_consultation_date",
    "course__patient__name",
    "course__patient__national_id",
)

_OPEN = ", ".join(["%s"] * len(OPEN_STATES))
_WAITING_PAGE = f"""
SELECT o.state, o.expires_at, c.patient_id, c.planned_consultation_date, p.name, p.national_id
FROM (
    SELECT w.order_id, w.unit_id, w.planned_consultation_date, w.created_at
    FROM {_WAITING} w WHERE w.unit_id = %s
    ORDER BY w.planned_consultation_date, w.created_at, w.order_id
    LIMIT %s OFFSET %s
) w
JOIN {_ORDER} o ON o.id = w.order_id AND o.kind = %s AND o.state IN ({_OPEN})
JOIN {_COURSE} c ON c.id = o.course_id AND c.unit_id = w.unit_id
JOIN {_PATIENT} p ON p.id = c.patient_id
ORDER BY w.planned_consultation_date, w.created_at, w.order_id
"""  # noqa: S608 - table names come from the models; every value is a parameter


def _marker_filter(
    unit_id: int, owner_id: int | None, planned_before: dt.date | None
) -> tuple[str, list[Any]]:
    where: list[str] = ["w.unit_id = %s"]
    params: list[Any] = [unit_id]
    if owner_id is not None:
        where.append("w.owner_id = %s")
        params.append(owner_id)
    if planned_before is not None:
        where.append("w.planned_consultation_date < %s")
        params.append(planned_before)
    return " AND ".join(where), params


def count_unfinished(
    unit_id: int, *, owner_id: int | None = None, planned_before: dt.date | None = None
) -> int:
    """How many courses of the unit have an unfinished Behandlerskjema (the owner's, or planned
    before a day, when given)."""
    where, params = _marker_filter(unit_id, owner_id, planned_before)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_MARKER} w WHERE {where}", params)  # noqa: S608
        return int(cursor.fetchone()[0])


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
    where, params = _marker_filter(unit_id, owner_id, planned_before)
    with connection.cursor() as cursor:
        cursor.execute(
            _COURSE_PAGE.format(where=where),
            [FormStatus.RETURNERT.value, *params, limit, offset, FormKind.CLINICIAN.value],
        )
        rows = cursor.fetchall()
    return [_course_row(row) for row in rows]


def _course_row(row: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(COURSE_COLUMNS, row, strict=True))
    # SQLite returns dates as text; PostgreSQL as dates.
    values["referral_date"] = date_of(values["referral_date"])
    values["planned_consultation_date"] = date_of(values["planned_consultation_date"])
    return values


def count_waiting(unit_id: int) -> int:
    """How many open pre-treatment orders the unit has."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {_WAITING} w WHERE w.unit_id = %s", [unit_id])  # noqa: S608
        return int(cursor.fetchone()[0])


def waiting_page(unit_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of them, by the course's planned date, as dicts of :data:`WAITING_COLUMNS`."""
    with connection.cursor() as cursor:
        cursor.execute(
            _WAITING_PAGE,
            [
                unit_id,
                limit,
                offset,
                FormKind.PRE_TREATMENT.value,
                *[str(state) for state in OPEN_STATES],
            ],
        )
        rows = cursor.fetchall()
    return [_waiting_row(row) for row in rows]


def _waiting_row(row: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(WAITING_COLUMNS, row, strict=True))
    values["course__planned_consultation_date"] = date_of(
        values["course__planned_consultation_date"]
    )
    values["expires_at"] = _aware(values["expires_at"])
    return values


def _aware(value: Any) -> dt.datetime | None:
    """A stored moment as an aware datetime: SQLite gives naive UTC (as Django stores it
    there), as a datetime or as text; PostgreSQL an aware one."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


CONSENT_LOG_COLUMNS = (
    "name",
    "national_id",
    "referral_date",
    "planned_consultation_date",
    "reason",
    "recorded_at",
)
_CONSENT_LOG_PAGE = (
    "SELECT e.name, e.national_id, e.referral_date, e.planned_consultation_date, e.reason, "  # noqa: S608
    f"e.recorded_at FROM {ConsentLogEntry._meta.db_table} e WHERE e.unit_id = %s "
    "ORDER BY e.recorded_at DESC, e.id DESC LIMIT %s OFFSET %s"
)


def consent_log_page(unit_id: int, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of the unit's part of the statutory log of people whose course was deleted
    without consent or whose consent was withdrawn, newest first, as dicts of
    :data:`CONSENT_LOG_COLUMNS`."""
    with connection.cursor() as cursor:
        cursor.execute(_CONSENT_LOG_PAGE, [unit_id, limit, offset])
        rows = cursor.fetchall()
    entries = []
    for row in rows:
        values = dict(zip(CONSENT_LOG_COLUMNS, row, strict=True))
        values["referral_date"] = date_of(values["referral_date"])
        values["planned_consultation_date"] = date_of(values["planned_consultation_date"])
        values["recorded_at"] = _aware(values["recorded_at"])
        entries.append(values)
    return entries
