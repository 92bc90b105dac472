"""The worklists' hand-written reads (``nnrr.worklists.reads`` through ``nnrr.access``) give
exactly the rows of the ORM's definitions: ``access.unfinished_courses`` for the three course
lists, the unit's open pre-treatment orders for "Pasienter uten informasjon om samtykke"; in the
lists' order, a page at a time, and never a row of another unit."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from nnrr import access
from nnrr.accounts.profiles import Profile
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.models import FormKind, FormReturn, FormStatus, Response
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import OPEN_STATES, Order
from nnrr.worklists.models import UnfinishedCourse, WaitingOrder
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient

pytestmark = pytest.mark.django_db


def _profile(who: Any) -> Profile:
    return Profile.from_membership(who.membership)


@pytest.fixture
def unit_data(persona: Any) -> dict[str, Any]:
    """St. Olavs: drafts of two owners on several days (two on the same day), one overdue, one
    returned twice (the later reason counts), one completed, one deleted; Haukeland: a draft."""
    clinician, clerk, admin = persona("clinician"), persona("clerk"), persona("local_admin")
    now = timezone.now()
    courses = []
    for n, (who, days) in enumerate(
        [(clinician, 20), (clerk, 5), (clinician, 5), (clinician, -3), (clerk, 40), (clinician, 9)]
    ):
        courses.append(
            book(
                who,
                make_patient(ST_OLAVS, name=f"Pasient {n}"),
                planned_in_days=days,
                referral_days_ago=30,
            )
        )
    returned = courses[5]
    form = Response.objects.get(course=returned, kind=FormKind.CLINICIAN)
    Response.objects.filter(pk=form.pk).update(status=FormStatus.FERDIGSTILT)
    form_services.return_to_draft(
        actor=admin.actor, response=Response.objects.get(pk=form.pk), reason="Først", now=now
    )
    Response.objects.filter(pk=form.pk).update(status=FormStatus.FERDIGSTILT)
    form_services.return_to_draft(
        actor=admin.actor,
        response=Response.objects.get(pk=form.pk),
        reason="Feil diagnose",
        now=now + dt.timedelta(minutes=1),
    )
    completed = book(clinician, make_patient(ST_OLAVS, name="Ferdig"))
    Response.objects.filter(course=completed, kind=FormKind.CLINICIAN).update(
        status=FormStatus.FERDIGSTILT
    )
    deleted = book(clinician, make_patient(ST_OLAVS, name="Slettet"))
    scheduling.delete_course(actor=clinician.actor, course=deleted, reason="Feil", now=now)
    elsewhere = book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Bergen"))
    return {
        "clinician": clinician,
        "courses": courses,
        "returned": returned,
        "completed": completed,
        "deleted": deleted,
        "elsewhere": elsewhere,
    }


def _orm_rows(profile: Profile, **filters: Any) -> list[Course]:
    return list(
        access.unfinished_courses(profile)
        .filter(**filters)
        .order_by("planned_consultation_date", "created_at", "pk")
    )


@pytest.mark.parametrize("which", ["unit", "mine", "overdue"])
def test_course_lists_match_the_orm_definition(unit_data: dict[str, Any], which: str) -> None:
    profile = _profile(unit_data["clinician"])
    today = oslo_date(timezone.now())
    kwargs: dict[str, Any] = {
        "unit": {},
        "mine": {"mine": True},
        "overdue": {"planned_before": today},
    }[which]
    orm_filters: dict[str, Any] = {
        "unit": {},
        "mine": {"owner": profile.user},
        "overdue": {"planned_consultation_date__lt": today},
    }[which]
    expected = _orm_rows(profile, **orm_filters)
    assert expected, "the fixture puts rows in every list"
    assert access.worklist_count(profile, **kwargs) == len(expected)
    rows = access.worklist_page(profile, offset=0, limit=50, **kwargs)
    assert [str(row["id"]).replace("-", "") for row in rows] == [c.pk.hex for c in expected]
    for row, course in zip(rows, expected, strict=True):
        form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
        assert str(row["form_id"]).replace("-", "") == form.pk.hex
        assert row["form_status"] == form.status
        assert row["patient__name"] == course.patient.name
        assert row["patient__national_id"] == course.patient.national_id
        assert row["referral_date"] == course.referral_date
        assert row["planned_consultation_date"] == course.planned_consultation_date
        assert row["owner__full_name"] == course.owner.full_name
        latest = FormReturn.objects.filter(response=form).order_by("-returned_at", "-id").first()
        expected_reason = latest.reason if latest and form.status == FormStatus.RETURNERT else None
        assert row["return_reason"] == expected_reason


def test_a_returned_form_shows_its_latest_reason(unit_data: dict[str, Any]) -> None:
    profile = _profile(unit_data["clinician"])
    rows = access.worklist_page(profile, offset=0, limit=50)
    by_id = {str(row["id"]).replace("-", ""): row for row in rows}
    row = by_id[unit_data["returned"].pk.hex]
    assert row["form_status"] == FormStatus.RETURNERT
    assert row["return_reason"] == "Feil diagnose"


def test_completed_deleted_and_other_units_courses_are_not_listed(
    unit_data: dict[str, Any],
) -> None:
    profile = _profile(unit_data["clinician"])
    ids = {
        str(row["id"]).replace("-", "") for row in access.worklist_page(profile, offset=0, limit=50)
    }
    for key in ("completed", "deleted", "elsewhere"):
        assert unit_data[key].pk.hex not in ids, key


def test_pages_slice_the_list_in_order(unit_data: dict[str, Any]) -> None:
    profile = _profile(unit_data["clinician"])
    whole = access.worklist_page(profile, offset=0, limit=50)
    pages = [access.worklist_page(profile, offset=start, limit=2) for start in range(0, 8, 2)]
    assert [row["id"] for page in pages for row in page] == [row["id"] for row in whole]
    assert access.worklist_page(profile, offset=50, limit=50) == []


def test_a_marker_row_pointing_at_another_units_course_shows_nothing(
    unit_data: dict[str, Any], persona: Any
) -> None:
    """Defence in depth: the page joins the course on the marker's unit too, so a marker that
    went wrong cannot bring another unit's patient into a list."""
    bergen = unit_data["elsewhere"]
    UnfinishedCourse.objects.filter(course_id=unit_data["courses"][0].pk).update(unit_id=HAUKELAND)
    rows = access.worklist_page(_profile(persona("haukeland_clinician")), offset=0, limit=50)
    assert [str(row["id"]).replace("-", "") for row in rows] == [bergen.pk.hex]


def test_waiting_orders_match_the_orm_definition(unit_data: dict[str, Any], persona: Any) -> None:
    profile = _profile(unit_data["clinician"])
    expected = list(
        access.orders_of_unit(profile)
        .filter(kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)
        .select_related("course__patient")
        .order_by("course__planned_consultation_date", "course__created_at", "pk")
    )
    assert expected, "booking orders a pre-treatment form"
    assert access.waiting_count(profile) == len(expected)
    rows = access.waiting_page(profile, offset=0, limit=50)
    assert len(rows) == len(expected)
    for row, order in zip(rows, expected, strict=True):
        assert row["state"] == order.state
        assert row["expires_at"] == order.expires_at  # aware, on both databases
        assert row["course__planned_consultation_date"] == order.course.planned_consultation_date
        assert row["course__patient__name"] == order.course.patient.name
        assert row["course__patient__national_id"] == order.course.patient.national_id
    # An answered order leaves the list.
    Order.objects.filter(pk=expected[0].pk).update(state="answered")
    assert access.waiting_count(profile) == len(expected) - 1
    # Another unit's open orders are not there, even through a marker gone wrong.
    WaitingOrder.objects.filter(order__course=unit_data["elsewhere"]).update(unit_id=ST_OLAVS)
    names = {
        row["course__patient__name"] for row in access.waiting_page(profile, offset=0, limit=50)
    }
    assert "Bergen" not in names


def test_consent_log_pages_match_the_orm_newest_first_and_the_unit_only(persona: Any) -> None:
    from nnrr.patients.models import ConsentLogEntry

    profile = _profile(persona("clinician"))
    start = timezone.now() - dt.timedelta(days=30)
    for n in range(5):
        ConsentLogEntry.objects.create(
            national_id=f"0101800000{n}",
            name=f"Uten Samtykke {n}",
            unit_id=ST_OLAVS,
            referral_date=dt.date(2026, 1, 1 + n),
            planned_consultation_date=dt.date(2026, 2, 1 + n),
            reason=ConsentLogEntry.Reason.NO_CONSENT if n % 2 else ConsentLogEntry.Reason.WITHDRAWN,
            recorded_at=start + dt.timedelta(days=n % 3),  # ties broken by id, newest first
        )
    ConsentLogEntry.objects.create(
        national_id="01018000099",
        name="Bergen",
        unit_id=HAUKELAND,
        reason=ConsentLogEntry.Reason.WITHDRAWN,
        recorded_at=start + dt.timedelta(days=9),
    )
    expected = list(
        ConsentLogEntry.objects.filter(unit_id=ST_OLAVS).order_by("-recorded_at", "-pk")
    )
    assert len(expected) == 5
    rows = access.consent_log_page(profile, offset=0, limit=51)
    assert [row["name"] for row in rows] == [entry.name for entry in expected]
    for row, entry in zip(rows, expected, strict=True):
        assert row["national_id"] == entry.national_id
        assert row["reason"] == entry.reason
        assert row["referral_date"] == entry.referral_date
        assert row["planned_consultation_date"] == entry.planned_consultation_date
        assert row["recorded_at"] == entry.recorded_at  # aware, on both databases
    pages = [access.consent_log_page(profile, offset=o, limit=2) for o in (0, 2, 4)]
    assert [row["name"] for page in pages for row in page] == [e.name for e in expected]
