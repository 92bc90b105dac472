"""The four worklists ("Arbeidsliste"), scoped to the active unit."""

from __future__ import annotations

from typing import Any, cast

from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, FormReturn, FormStatus, Response
from nnrr.scheduling.models import OPEN_STATES
from nnrr.worklists.models import UnfinishedCourse

LISTS = {
    "mine": _("Mine uferdige skjema"),
    "overdue": _("Utgått planlagt konsultasjonsdato"),
    "unit": _("Avdelingens uferdige skjemaer"),
    "consent": _("Pasienter uten informasjon om samtykke"),
}


def with_form_state(queryset: QuerySet[Course]) -> QuerySet[Course]:
    """Each course with its Behandlerskjema (id, status) and, when it was returned, the reason
    the Lokal registeransvarlig gave, for the worklist rows."""
    clinician = Response.objects.filter(course=OuterRef("pk"), kind=FormKind.CLINICIAN)
    reason = FormReturn.objects.filter(
        response__course=OuterRef("pk"),
        response__kind=FormKind.CLINICIAN,
        response__status=FormStatus.RETURNERT,
    ).order_by("-returned_at", "-id")
    return queryset.annotate(
        form_id=Subquery(clinician.values("pk")[:1]),
        form_status=Subquery(clinician.values("status")[:1]),
        return_reason=Subquery(reason.values("reason")[:1]),
    )


class MarkedCourses:
    """A worklist for the Paginator: counted and sliced on the marker's index (only unfinished
    rows, in the worklists' order), then only the page's courses are loaded, through the access
    module's scope of the unit. Nothing here reads the unit's finished courses."""

    def __init__(self, profile: Profile, **marker_filters: object) -> None:
        self.profile = profile
        self.marked = UnfinishedCourse.objects.filter(
            unit_id=profile.unit.pk, **marker_filters
        ).order_by("planned_consultation_date", "created_at", "course_id")

    def count(self) -> int:
        return self.marked.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[Course]:
        if not isinstance(index, slice):
            raise TypeError("a worklist is read a page at a time")
        ids = list(self.marked.values_list("course_id", flat=True)[index])
        found = with_form_state(
            access.courses_of_unit(self.profile)
            .filter(pk__in=ids)
            .select_related("patient", "owner")
        )
        by_id = {course.pk: course for course in found}
        return [by_id[pk] for pk in ids if pk in by_id]


def unfinished_courses(profile: Profile) -> MarkedCourses:
    """Active courses whose Behandlerskjema is a draft (or returned), in the active unit: the
    rows of ``access.unfinished_courses``, through the marker kept equal to it."""
    return MarkedCourses(profile)


def mine_unfinished(profile: Profile) -> MarkedCourses:
    return MarkedCourses(profile, owner_id=profile.user.pk)


def overdue_unfinished(profile: Profile) -> MarkedCourses:
    return MarkedCourses(profile, planned_consultation_date__lt=oslo_date(timezone.now()))


def unfinished_counts(profile: Profile) -> dict[str, int]:
    """The counts of "Mine", "Utgått planlagt konsultasjonsdato" and the unit's unfinished
    forms, in one query on the maintained marker (an index-only scan of the unit's entries),
    not a join of the unit's courses to their forms."""
    today = oslo_date(timezone.now())
    return UnfinishedCourse.objects.filter(unit_id=profile.unit.pk).aggregate(
        mine=Count("pk", filter=Q(owner_id=profile.user.pk)),
        overdue=Count("pk", filter=Q(planned_consultation_date__lt=today)),
        unit=Count("pk"),
    )


def has_waiting(profile: Profile) -> bool:
    """The red dot: something waits in "Mine uferdige skjema"."""
    return UnfinishedCourse.objects.filter(
        unit_id=profile.unit.pk, owner_id=profile.user.pk
    ).exists()


@profile_required(Right.FORMS)
def index(request: HttpRequest) -> HttpResponse:
    profile = access.require_right(request, Right.FORMS)
    counts = unfinished_counts(profile)
    return render(request, "worklists/index.html", {"lists": LISTS, "counts": counts})


def _course_list(request: HttpRequest, key: str, courses: MarkedCourses) -> HttpResponse:
    page = Paginator(cast(Any, courses), 50).get_page(request.GET.get("page"))
    record_event(
        actor=Actor.from_request(request),
        action=f"nnrr.worklist.{key}.viewed",
        detail={"rows": len(page.object_list)},
    )
    return render(
        request,
        "worklists/courses.html",
        {"key": key, "title": LISTS[key], "page": page, "lists": LISTS},
    )


@profile_required(Right.FORMS)
def mine(request: HttpRequest) -> HttpResponse:
    return _course_list(
        request, "mine", mine_unfinished(access.require_right(request, Right.FORMS))
    )


@profile_required(Right.FORMS)
def overdue(request: HttpRequest) -> HttpResponse:
    return _course_list(
        request, "overdue", overdue_unfinished(access.require_right(request, Right.FORMS))
    )


@profile_required(Right.FORMS)
def unit(request: HttpRequest) -> HttpResponse:
    return _course_list(
        request, "unit", unfinished_courses(access.require_right(request, Right.FORMS))
    )


@profile_required(Right.FORMS)
def consent(request: HttpRequest) -> HttpResponse:
    """Everyone with a pre-treatment form ordered but not answered, and everyone whose course
    was deleted without consent (the log the registry must keep by law)."""
    profile = access.require_right(request, Right.FORMS)
    waiting = (
        access.orders_of_unit(profile)
        .filter(kind=FormKind.PRE_TREATMENT, state__in=OPEN_STATES)
        .select_related("course", "course__patient")
        .order_by("course__planned_consultation_date")
    )
    log = access.consent_log(request).order_by("-recorded_at")
    page = Paginator(log, 50).get_page(request.GET.get("page"))
    record_event(actor=Actor.from_request(request), action="nnrr.worklist.consent.viewed")
    return render(
        request,
        "worklists/consent.html",
        {
            "title": LISTS["consent"],
            "waiting": waiting[:200],
            "page": page,
            "lists": LISTS,
            "key": "consent",
        },
    )
