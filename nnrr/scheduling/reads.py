"""The patient page's reads ("Skjema": the patient's courses at the unit, with their forms and
ePROM orders): three queries whatever the number of courses (the courses with their owners, then
the forms and the orders of those courses), each scoped to the unit and the patient through the
course. Reached only through ``nnrr.access.patient_courses``.
"""

from __future__ import annotations

import uuid

from django.db.models import Prefetch

from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormStatus, Response
from nnrr.scheduling.models import Order

# What the page shows of a form: not its answers, scores or codes, which can be large.
FORM_FIELDS = ("id", "course_id", "kind", "status", "created_at", "last_update")
# What the page shows of an order, and what ``scheduling.services.code_can_be_shown`` reads.
ORDER_FIELDS = (
    "id",
    "course_id",
    "kind",
    "state",
    "notify_self",
    "send_at",
    "sent_at",
    "remind_at",
    "reminded_at",
    "expires_at",
    "code_sealed",
    "code_used_at",
    "code_locked_at",
    "created_at",
)


def courses_with_forms(unit_id: int, patient_id: uuid.UUID) -> list[Course]:
    """The patient's courses at the unit, newest planned first, with their ``owner``; each with
    ``shown_forms`` (its forms but the deleted ones) and ``shown_orders`` (in order of
    creation)."""
    # Unordered: the page sorts a course's few forms itself (``sort_forms``), and the model's
    # default order would join every form to its course again.
    forms = Response.objects.exclude(status=FormStatus.SLETTET).only(*FORM_FIELDS).order_by()
    orders = Order.objects.only(*ORDER_FIELDS).order_by("created_at", "id")
    return list(
        Course.objects.filter(unit_id=unit_id, patient_id=patient_id)
        .select_related("owner")
        .order_by("-planned_consultation_date", "-created_at")
        .prefetch_related(
            Prefetch("responses", queryset=forms, to_attr="shown_forms"),
            Prefetch("orders", queryset=orders, to_attr="shown_orders"),
        )
    )
