"""The patient page's reads ("Skjema": the patient's courses at the unit, with their forms and
ePROM orders), in SQL written out by hand.

Built with the ORM (a query with ``select_related`` and two prefetches), the three reads cost
about 1 ms each to compile on every view of the page, more than the database took. Here each is
one statement run through ``Model.objects.raw``, which still gives model instances with the
database's values converted as the ORM does (aware datetimes, UUIDs on SQLite). Every statement
is scoped to the unit and the patient on the course. Reached only through
``nnrr.access.patient_courses``; ``tests/patients/test_reads.py`` checks the rows against the ORM.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection

from nnrr.accounts.models import User
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormStatus, Response
from nnrr.scheduling.models import Order

_COURSE = Course._meta.db_table

# Each course with its owner's name (``owner_name``, what ``str(owner)`` shows), newest first.
_COURSES = (
    f"SELECT c.*, COALESCE(NULLIF(u.full_name, ''), u.username) AS owner_name "  # noqa: S608
    f"FROM {_COURSE} c LEFT JOIN {User._meta.db_table} u ON u.id = c.owner_id "
    "WHERE c.unit_id = %s AND c.patient_id = %s "
    "ORDER BY c.planned_consultation_date DESC, c.created_at DESC"
)
# The forms the page shows: not the answers, scores or codes, which can be large.
_FORMS = (
    "SELECT r.id, r.course_id, r.kind, r.status, r.created_at, r.last_update "  # noqa: S608
    f"FROM {Response._meta.db_table} r JOIN {_COURSE} c ON c.id = r.course_id "
    "WHERE c.unit_id = %s AND c.patient_id = %s AND r.status <> %s"
)
_ORDERS = (
    "SELECT o.id, o.course_id, o.kind, o.state, o.notify_self, o.send_at, o.sent_at, "  # noqa: S608
    "o.remind_at, o.reminded_at, o.expires_at, o.code_sealed, o.code_used_at, "
    "o.code_locked_at, o.created_at "
    f"FROM {Order._meta.db_table} o JOIN {_COURSE} c ON c.id = o.course_id "
    "WHERE c.unit_id = %s AND c.patient_id = %s ORDER BY o.created_at, o.id"
)


def courses_with_forms(unit_id: int, patient_id: uuid.UUID) -> list[Course]:
    """The patient's courses at the unit, newest planned first; each with ``owner_name``,
    ``shown_forms`` (its forms but the deleted ones) and ``shown_orders`` (in order of
    creation)."""
    # As the ORM would send it (a UUID on PostgreSQL, its hex text on SQLite).
    patient = Patient._meta.pk.get_db_prep_value(patient_id, connection)
    params: list[Any] = [unit_id, patient]
    courses = list(Course.objects.raw(_COURSES, params))
    forms: dict[Any, list[Response]] = {}
    for form in Response.objects.raw(_FORMS, [*params, FormStatus.SLETTET.value]):
        forms.setdefault(form.course_id, []).append(form)
    orders: dict[Any, list[Order]] = {}
    for order in Order.objects.raw(_ORDERS, params):
        orders.setdefault(order.course_id, []).append(order)
    for course in courses:
        course.shown_forms = forms.get(course.pk, [])  # type: ignore[attr-defined]
        course.shown_orders = orders.get(course.pk, [])  # type: ignore[attr-defined]
    return courses
