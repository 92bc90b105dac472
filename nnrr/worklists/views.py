"""The four worklists ("Arbeidsliste"), scoped to the active unit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from urllib.parse import quote

from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.rows import day, html_rows, url_maker
from nnrr.patients.models import ConsentLogEntry
from nnrr.questionnaires.models import FormStatus
from nnrr.scheduling.models import OrderState
from nnrr.worklists.models import UnfinishedCourse

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


@profile_required(Right.FORMS)
def index(request: HttpRequest) -> HttpResponse:
    """«Arbeidsliste»: straight to the first list with rows (Mine uferdige skjema, Utgått
    planlagt konsultasjonsdato, Avdelingens uferdige skjemaer), or to "Mine" when all are
    empty; each list page links to the others."""
    profile = access.require_right(request, Right.FORMS)
    counts = unfinished_counts(profile)
    first = next((key for key in ("mine", "overdue", "unit") if counts[key]), "mine")
    return redirect(f"worklists:{first}")


_COURSE_ROW = (
    '<tr><td><a class="ds-link" href="{}">{}</a></td>'
    '<td data-label="{}">{}</td><td data-label="{}">{}</td><td data-label="{}">{}</td>'
    '<td data-label="{}">{}</td><td data-label="{}">{}</td>'
    '<td class="app-cell-actions">{}'
    '<a class="ds-link" href="{}?back={}">{}</a><a class="ds-link" href="{}?back={}">{}</a>'
    "</td></tr>\n"
)


def course_rows(courses: list[dict[str, Any]], back: str) -> SafeString:
    """The rows of a worklist page (``access.worklist_page`` rows): patient, national id, dates,
    owner, form status (and a return's reason), and the row's actions, which come back to
    ``back`` (the list's URL)."""
    patient_url = url_maker("patients:detail")
    fill_url = url_maker("questionnaires:fill")
    owner_url = url_maker("patients:course_owner")
    delete_url = url_maker("patients:course_delete")
    labels = [
        gettext("Fødselsnummer"),
        gettext("Henvisningsdato"),
        gettext("Planlagt dato"),
        gettext("Eier"),
        gettext("Status"),
    ]
    returned = format_html(
        '<span class="ds-tag" data-color="danger">{}</span>', gettext("Returnert")
    )
    draft = format_html('<span class="ds-tag" data-color="neutral">{}</span>', gettext("Kladd"))
    reason_label = gettext("Begrunnelse")
    fill, change_owner, delete = (
        gettext("Fyll ut skjema"),
        gettext("Endre eier"),
        gettext("Slett skjema"),
    )
    back = quote(back, safe="/")

    def status(course: dict[str, Any]) -> SafeString:
        if course["form_status"] != FormStatus.RETURNERT:
            return draft
        if not course["return_reason"]:
            return returned
        return format_html(
            '{}<p class="ds-paragraph app-return-reason" data-size="xs">'
            '<span class="ds-sr-only">{}: </span>{}</p>',
            returned,
            reason_label,
            Truncator(course["return_reason"]).chars(160),
        )

    def cells(course: dict[str, Any]) -> tuple[Any, ...]:
        form_id = course["form_id"]
        form = (
            format_html('<a class="ds-link" href="{}">{}</a>', fill_url(form_id), fill)
            if form_id
            else ""
        )
        national_id = course["patient__national_id"]
        return (
            patient_url(course["patient_id"]),
            course["patient__name"],
            labels[0],
            f"{national_id[:6]} {national_id[6:]}",  # Patient.national_id_formatted
            labels[1],
            day(course["referral_date"]),
            labels[2],
            day(course["planned_consultation_date"]),
            labels[3],
            course["owner__full_name"] or course["owner__username"] or "–",  # str(User)
            labels[4],
            status(course),
            form,
            owner_url(course["id"]),
            back,
            change_owner,
            delete_url(course["id"]),
            back,
            delete,
        )

    return html_rows(_COURSE_ROW, (cells(course) for course in courses))


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
            "rows": course_rows(list(page.object_list), request.get_full_path()),
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


_WAITING_ROW = (
    '<tr><td><a class="ds-link" href="{}">{}</a></td>'
    "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n"
)
_LOG_ROW = "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n"


def waiting_rows(orders: list[dict[str, Any]]) -> SafeString:
    """Rows of "Bestilt pasientskjema, ikke levert ennå" (``access.waiting_page`` rows): patient,
    national id, planned date, the order's state and its last valid day."""
    from nnrr.patients.templatetags.nnrr import expiry_day

    patient_url = url_maker("patients:detail")
    states = dict(OrderState.choices)

    def cells(order: dict[str, Any]) -> tuple[Any, ...]:
        national_id = order["course__patient__national_id"]
        return (
            patient_url(order["course__patient_id"]),
            order["course__patient__name"],
            f"{national_id[:6]} {national_id[6:]}",
            day(order["course__planned_consultation_date"]),
            states.get(order["state"], order["state"]),
            day(expiry_day(order["expires_at"])),
        )

    return html_rows(_WAITING_ROW, (cells(order) for order in orders))


def log_rows(entries: list[dict[str, Any]]) -> SafeString:
    """Rows of "Slettet uten samtykke eller samtykke trukket" (``access.consent_log_page``)."""
    reasons = {value: str(label) for value, label in ConsentLogEntry.Reason.choices}
    return html_rows(
        _LOG_ROW,
        (
            (
                entry["name"],
                entry["national_id"],
                day(entry["referral_date"]),
                day(entry["planned_consultation_date"]),
                reasons.get(entry["reason"], entry["reason"]),
                day(entry["recorded_at"]),
            )
            for entry in entries
        ),
    )


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
            "waiting_rows": waiting_rows(list(page.object_list)),
            "log_rows": log_rows(entries[:50]),
            "log_number": log_number,
            "log_previous": log_number - 1 if log_number > 1 else None,
            "log_next": log_number + 1 if len(entries) > 50 else None,
            "lists": LISTS,
            "key": "consent",
        },
    )
