"""The four worklists ("Arbeidsliste"), scoped to the active unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.links import RowUrl
from nnrr.patients.models import ConsentLogEntry
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import OrderState

LISTS = {
    "mine": _("Mine uferdige skjema"),
    "overdue": _("Utgått planlagt konsultasjonsdato"),
    "unit": _("Avdelingens uferdige skjemaer"),
    "consent": _("Pasienter uten informasjon om samtykke"),
}

# The audit event of opening each list (the consent list writes "nnrr.worklist.consent.viewed").
LIST_EVENTS = {
    "mine": "nnrr.worklist.mine.viewed",
    "overdue": "nnrr.worklist.overdue.viewed",
    "unit": "nnrr.worklist.unit.viewed",
}


class ListPages:
    """A worklist for the Paginator: counted with ``count()`` and read a page at a time with
    ``read(offset, limit)``, both statements on a maintained marker through ``nnrr.access``
    (nothing reads the unit's finished history)."""

    def __init__(
        self, count: Callable[[], int], read: Callable[[int, int], list[dict[str, Any]]]
    ) -> None:
        self._count = count
        self._read = read

    def count(self) -> int:
        return self._count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[dict[str, Any]]:
        if not isinstance(index, slice):
            raise TypeError("a worklist is read a page at a time")
        start = index.start or 0
        return self._read(start, index.stop - start)


def _courses(profile: Profile, **filters: Any) -> ListPages:
    return ListPages(
        lambda: access.worklist_count(profile, **filters),
        lambda offset, limit: access.worklist_page(profile, offset=offset, limit=limit, **filters),
    )


def unfinished_courses(profile: Profile) -> ListPages:
    """Active courses whose Behandlerskjema is a draft (or returned), in the active unit: the
    rows of ``access.unfinished_courses``, through the marker kept equal to it."""
    return _courses(profile)


def mine_unfinished(profile: Profile) -> ListPages:
    return _courses(profile, mine=True)


def overdue_unfinished(profile: Profile) -> ListPages:
    return _courses(profile, planned_before=oslo_date(timezone.now()))


def waiting_orders(profile: Profile) -> ListPages:
    """The unit's open pre-treatment orders (the ``WaitingOrder`` marker), by planned date."""
    return ListPages(
        lambda: access.waiting_count(profile),
        lambda offset, limit: access.waiting_page(profile, offset=offset, limit=limit),
    )


@profile_required(Right.FORMS)
def index(request: HttpRequest) -> HttpResponse:
    """«Arbeidsliste»: straight to the first list with rows (Mine uferdige skjema, Utgått
    planlagt konsultasjonsdato, Avdelingens uferdige skjemaer), or to "Mine" when all are
    empty; each list page links to the others."""
    profile = access.require_right(request, Right.FORMS)
    counts = access.worklist_counts(profile, today=oslo_date(timezone.now()))
    first = next((key for key in ("mine", "overdue", "unit") if counts[key]), "mine")
    return redirect(f"worklists:{first}")


# The words of a worklist row: translated once per page (the view's ``str``), not in every row.
ROW_LABELS = {
    "national_id": _("Fødselsnummer"),
    "referral": _("Henvisningsdato"),
    "planned": _("Planlagt dato"),
    "owner": _("Eier"),
    "status": _("Status"),
    "returned": _("Returnert"),
    "reason": _("Begrunnelse"),
    "draft": _("Kladd"),
    "fill": _("Fyll ut skjema"),
    "change_owner": _("Endre eier"),
    "delete": _("Slett skjema"),
}


def _with_actions(courses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with what each offers, from the services' own rules, and the links it offers
    them by (reversed once a page, ``nnrr.lib.links``); the template shows them."""
    patient_url = RowUrl("patients:detail")
    fill_url = RowUrl("questionnaires:fill")
    owner_url = RowUrl("patients:course_owner")
    delete_url = RowUrl("patients:course_delete")
    for course in courses:
        course["can_be_deleted"] = scheduling.course_can_be_deleted(course["form_status"])
        course["patient_url"] = patient_url(course["patient_id"])
        course["fill_url"] = fill_url(course["form_id"]) if course["form_id"] else None
        course["owner_url"] = owner_url(course["id"])
        course["delete_url"] = delete_url(course["id"]) if course["can_be_deleted"] else None
    return courses


def _course_list(request: HttpRequest, key: str, courses: ListPages) -> HttpResponse:
    page = Paginator(cast(Any, courses), 50).get_page(request.GET.get("page"))
    record_event(
        actor=Actor.from_request(request),
        action=LIST_EVENTS[key],
        detail={"rows": len(page.object_list)},
    )
    return render(
        request,
        "worklists/courses.html",
        {
            "key": key,
            "title": LISTS[key],
            "page": page,
            "rows": _with_actions(list(page.object_list)),
            "labels": {key: str(label) for key, label in ROW_LABELS.items()},
            "back": request.get_full_path(),
            "lists": LISTS,
        },
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


def _labelled(rows: list[dict[str, Any]], key: str, labels: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows (read as values) with the label of their choice field ``key`` as ``key_label``."""
    for row in rows:
        row[f"{key}_label"] = labels.get(row[key], row[key])
    return rows


def _with_patient_links(orders: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waiting orders with the link to each one's patient (reversed once a page)."""
    patient_url = RowUrl("patients:detail")
    for order in orders:
        order["patient_url"] = patient_url(order["course__patient_id"])
    return orders


def _page_number(raw: str | None) -> int:
    try:
        return max(1, min(int(raw or 1), 100_000))
    except ValueError:
        return 1


@profile_required(Right.FORMS)
def consent(request: HttpRequest) -> HttpResponse:
    """Everyone with a pre-treatment form ordered but not answered (paged like the other
    worklists, 50 a page, ``?page=``), and everyone whose course was deleted without consent
    (the log the registry must keep by law; 50 a page, newest first, ``?logg=``, with
    "Forrige"/"Neste" only: the log grows with the registry's history and is not counted)."""
    profile = access.require_right(request, Right.FORMS)
    page = Paginator(cast(Any, waiting_orders(profile)), 50).get_page(request.GET.get("page"))
    log_number = _page_number(request.GET.get("logg"))
    start = (log_number - 1) * 50
    entries = access.consent_log_page(profile, offset=start, limit=51)
    record_event(actor=Actor.from_request(request), action="nnrr.worklist.consent.viewed")
    return render(
        request,
        "worklists/consent.html",
        {
            "title": LISTS["consent"],
            "page": page,
            "waiting_rows": _with_patient_links(
                _labelled(list(page.object_list), "state", dict(OrderState.choices))
            ),
            "log_rows": _labelled(entries[:50], "reason", dict(ConsentLogEntry.Reason.choices)),
            "log_number": log_number,
            "log_previous": log_number - 1 if log_number > 1 else None,
            "log_next": log_number + 1 if len(entries) > 50 else None,
            "lists": LISTS,
            "key": "consent",
        },
    )
