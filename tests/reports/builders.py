"""Courses with forms written directly (no services): exact control over every answer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.reports.models import CoverageEntry
from tests.conftest import make_patient


def course(
    unit_id: int,
    visit: dt.date | str | None,
    *,
    clinician: dict[str, Any] | None = None,
    clinician_status: int = FormStatus.FERDIGSTILT,
    baseline: dict[str, Any] | None = None,
    baseline_scores: dict[str, Any] | None = None,
    consent: bool | None = True,
    baseline_status: int = FormStatus.FERDIGSTILT,
    six: dict[str, Any] | None = None,
    six_scores: dict[str, Any] | None = None,
    twelve: dict[str, Any] | None = None,
    twelve_scores: dict[str, Any] | None = None,
    referral: dt.date | None = None,
    status: str = Course.Status.ACTIVE,
) -> Course:
    visit_date = dt.date.fromisoformat(visit) if isinstance(visit, str) else visit
    planned = visit_date or dt.date(2024, 1, 1)
    made = Course.objects.create(
        patient=make_patient(unit_id),
        unit=Unit.objects.get(pk=unit_id),
        referral_date=referral or planned - dt.timedelta(days=30),
        planned_consultation_date=planned,
        status=status,
    )
    answers = dict(clinician or {})
    if visit_date is not None:
        answers.setdefault("S1b_DateOfCompletion", visit_date.isoformat())
    now = timezone.now()

    def form(kind: str, form_status: int, ans: dict[str, Any], scores: dict[str, Any], **kw: Any):
        Response.objects.create(
            course=made,
            kind=kind,
            status=form_status,
            answers=ans,
            scores=scores,
            completed_at=now if form_status == FormStatus.FERDIGSTILT else None,
            **kw,
        )

    form(FormKind.CLINICIAN, clinician_status, answers, {})
    if baseline is not None or baseline_scores is not None:
        form(
            FormKind.PRE_TREATMENT,
            baseline_status,
            baseline or {},
            baseline_scores or {},
            consent=consent,
        )
    if six is not None or six_scores is not None:
        form(FormKind.FOLLOW_UP_6, FormStatus.FERDIGSTILT, six or {}, six_scores or {})
    if twelve is not None or twelve_scores is not None:
        form(FormKind.FOLLOW_UP_12, FormStatus.FERDIGSTILT, twelve or {}, twelve_scores or {})
    return made


def coverage(unit: int, eligible: int, *, year: int = 2024, half: int = 1) -> CoverageEntry:
    """The unit's reported number of eligible patients for a half-year («Dekningsgrad»)."""
    return CoverageEntry.objects.create(
        unit=Unit.objects.get(pk=unit),
        year=year,
        half=half,
        eligible=eligible,
        entered_at=timezone.now(),
    )
