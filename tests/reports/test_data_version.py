"""The reports' data version and the visit-date index: what keeps a report fast and current
whatever the size of the registry's history.

- ``data_version`` moves on every write to the data the reports count (forms, courses,
  patients, coverage figures), whoever writes (ORM save, ``update()``, delete, raw SQL), and
  not on writes that do not change a report (the audit trail);
- reading it is one indexed read (no scan of the forms);
- a report of some years reads only those years' forms: the year filters are served by the
  partial expression index ``response_visit_date`` (PostgreSQL plan).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.reports import frame
from nnrr.reports import indicators as ind
from nnrr.reports.models import CoverageEntry
from tests.conftest import ST_OLAVS, make_patient
from tests.reports.builders import course

pytestmark = pytest.mark.django_db


def _moves(write: Any) -> bool:
    before = ind.data_version()
    write()
    return ind.data_version() != before


def test_every_kind_of_write_to_report_data_moves_the_version() -> None:
    made = course(ST_OLAVS, "2024-03-01", clinician={}, baseline={})
    form = Response.objects.get(course=made, kind=FormKind.CLINICIAN)

    assert _moves(lambda: course(ST_OLAVS, "2024-03-02", clinician={}, baseline={}))
    assert _moves(lambda: Response.objects.filter(pk=form.pk).update(answers={"x": 1}))
    assert _moves(lambda: Course.objects.filter(pk=made.pk).update(status=Course.Status.DELETED))
    assert _moves(lambda: Patient.objects.filter(pk=made.patient_id).update(sex="F"))
    assert _moves(
        lambda: CoverageEntry.objects.create(
            unit=Unit.objects.get(pk=ST_OLAVS),
            year=2024,
            half=1,
            eligible=10,
            entered_at=timezone.now(),
        )
    )
    assert _moves(
        lambda: Response.objects.filter(course=made, kind=FormKind.PRE_TREATMENT).delete()
    )

    def raw_sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE questionnaires_response SET answers = answers WHERE id = %s",
                [form.pk.hex if connection.vendor == "sqlite" else form.pk],
            )

    assert _moves(raw_sql)


def test_writes_that_change_no_report_leave_the_version() -> None:
    course(ST_OLAVS, "2024-03-01", clinician={}, baseline={})
    before = ind.data_version()
    record_event(actor=Actor.system(), action="test.viewed", patient_id=None)
    ind.counted(ind.INDICATORS, 2024, 2024)  # reading, too
    assert ind.data_version() == before


def test_reading_the_version_is_one_query_whatever_the_number_of_forms() -> None:
    for day in range(1, 6):
        course(ST_OLAVS, f"2024-03-0{day}", clinician={}, baseline={})
    with CaptureQueriesContext(connection) as queries:
        ind.data_version()
    assert len(queries) == 1
    assert "questionnaires_response" not in queries[0]["sql"]


def test_cached_counts_follow_a_write_made_outside_the_services(settings: Any) -> None:
    settings.REPORTS_CACHE_SECONDS = 600
    made = course(ST_OLAVS, "2024-06-06", clinician={}, baseline={})
    indicator = [ind.BY_ID["nnrr_tverrfaglig_behandling"]]
    first = ind.counted_cached(indicator, 2024, 2024)["nnrr_tverrfaglig_behandling"]
    assert first.unit(ST_OLAVS, 2024).denominator == 1
    Course.objects.filter(pk=made.pk).update(status=Course.Status.DELETED)
    again = ind.counted_cached(indicator, 2024, 2024)["nnrr_tverrfaglig_behandling"]
    assert again.unit(ST_OLAVS, 2024).denominator == 0


@pytest.mark.parametrize(
    ("visit", "first", "last", "counted"),
    [
        ("2023-12-31", 2024, 2024, False),
        ("2024-01-01", 2024, 2024, True),
        ("2024-12-31", 2024, 2024, True),
        ("2025-01-01", 2024, 2024, False),
        ("2025-01-01", 2023, 2025, True),
    ],
)
def test_visits_in_years_by_the_date_text(visit: str, first: int, last: int, counted: bool) -> None:
    course(ST_OLAVS, visit, clinician={}, baseline={})
    assert frame.courses().filter(frame.visits_in(first, last)).exists() is counted


@pytest.mark.parametrize(
    ("visit", "year", "counted"),
    [
        ("2023-06-30", 2024, False),  # follow-up in December 2023
        ("2023-07-01", 2024, True),  # follow-up in January 2024
        ("2024-06-30", 2024, True),  # follow-up in December 2024
        ("2024-07-01", 2024, False),  # follow-up in January 2025
    ],
)
def test_follow_ups_in_years_by_the_date_text(visit: str, year: int, counted: bool) -> None:
    course(ST_OLAVS, visit, clinician={}, baseline={})
    selected = frame.courses().filter(frame.follow_ups_in(year, year))
    assert selected.exists() is counted


@pytest.mark.postgres
def test_year_filters_are_served_by_the_visit_date_index() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the plan is PostgreSQL's (SQLite has the same index, with its own planner)")
    # A century of courses, 30 a year, so that one year is a small part of the history (on a
    # handful of rows any index, or none, is as good as another to the planner).
    patient = make_patient(ST_OLAVS)
    unit = Unit.objects.get(pk=ST_OLAVS)
    courses = []
    forms = []
    for year in range(1926, 2026):
        for day in range(30):
            visit = dt.date(year, 1 + day % 12, 1 + day)
            made = Course(
                patient=patient,
                unit=unit,
                referral_date=visit,
                planned_consultation_date=visit,
                status=Course.Status.ACTIVE,
            )
            courses.append(made)
            forms.append(
                Response(
                    course=made,
                    kind=FormKind.CLINICIAN,
                    status=FormStatus.FERDIGSTILT,
                    answers={"S1b_DateOfCompletion": visit.isoformat()},
                )
            )
            forms.append(
                Response(
                    course=made,
                    kind=FormKind.PRE_TREATMENT,
                    status=FormStatus.FERDIGSTILT,
                    answers={},
                    consent=True,
                )
            )
    Course.objects.bulk_create(courses)
    Response.objects.bulk_create(forms)
    queries = {
        "visit": frame.courses().filter(frame.visits_in(2024, 2024)),
        "follow-up": ind.outcome_frame().filter(frame.follow_ups_in(2024, 2024)),
    }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE patients_course, questionnaires_response")
        for name, queryset in queries.items():
            plan = queryset.explain()
            assert "response_visit_date" in plan, f"{name}: {plan}"
        assert frame.courses().filter(frame.visits_in(2024, 2024)).count() == 30
