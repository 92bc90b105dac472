"""The access log a person can read ("Logg") and the patient's access list ("Innsyn").

The Lokal registeransvarlig reads their own unit's events, the Registeradministrator every unit's.
A patient is looked up by fødselsnummer typed in a POSTed form and resolved to the patient
record(s) here, so the number never lands in a URL or an access log; the page's links then carry
the record ids.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import Membership, User
from nnrr.accounts.profiles import Profile, Right
from nnrr.administration import log_access as access
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent, Outcome
from nnrr.audit.services import record_event
from nnrr.audit.wording import ACTION_GROUPS, describe, role_label
from nnrr.lib.dates import oslo_date, parse_iso_date
from nnrr.lib.national_id import NationalIdError, parse_national_id

PAGE_SIZE = 50
# The Logg counts at most this many events: an exact count of a unit's whole history grows with
# every page anyone ever opened. Beyond it the page says "more than" and the filters narrow it.
COUNT_CAP = 10_000
CSV_MAX_ROWS = 100_000
MAX_PATIENT_IDS = 20


def _parse_ids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in values[:MAX_PATIENT_IDS]:
        try:
            ids.append(uuid.UUID(value))
        except (ValueError, AttributeError):
            continue
    return ids


def _date(raw: str) -> dt.date | None:
    parsed = parse_iso_date(raw) if raw else None
    if parsed is None or not (dt.date(2000, 1, 1) <= parsed <= dt.date(2100, 12, 31)):
        return None
    return parsed


class LogFilter:
    """The filters of the Logg, read from a GET query (never a fødselsnummer)."""

    def __init__(self, query: Any) -> None:
        self.patient_ids = _parse_ids(query.getlist("pasient"))
        self.patient_filter = bool(query.getlist("pasient"))
        user = query.get("bruker", "")
        self.user_id = int(user) if user.isascii() and user.isdigit() and len(user) < 12 else None
        group = query.get("handling", "")
        self.group = group if group in ACTION_GROUPS else ""
        self.date_from = _date(query.get("fra", ""))
        self.date_to = _date(query.get("til", ""))
        self.errors: list[str] = []
        if query.get("fra") and self.date_from is None:
            self.errors.append(_("Fra-datoen må være en dato, f.eks. 01.01.2026."))
        if query.get("til") and self.date_to is None:
            self.errors.append(_("Til-datoen må være en dato, f.eks. 31.12.2026."))

    def apply(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        if self.patient_filter:
            events = events.filter(patient_id__in=self.patient_ids)
        if self.user_id is not None:
            events = events.filter(actor_id=self.user_id)
        if self.group == "avvist":
            events = events.filter(outcome=Outcome.DENIED)
        elif self.group:
            condition = Q()
            for prefix in ACTION_GROUPS[self.group][1]:
                condition |= Q(action__startswith=prefix)
            events = events.filter(condition)
        tz = timezone.get_current_timezone()
        if self.date_from:
            events = events.filter(at__gte=dt.datetime.combine(self.date_from, dt.time(), tz))
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tz)
            events = events.filter(at__lt=end)
        return events

    def query(self, **extra: Any) -> str:
        params: list[tuple[str, Any]] = [("pasient", str(i)) for i in self.patient_ids]
        if self.patient_filter and not self.patient_ids:
            params.append(("pasient", "ingen"))
        if self.user_id is not None:
            params.append(("bruker", self.user_id))
        if self.group:
            params.append(("handling", self.group))
        if self.date_from:
            params.append(("fra", self.date_from.isoformat()))
        if self.date_to:
            params.append(("til", self.date_to.isoformat()))
        params.extend((k, v) for k, v in extra.items() if v is not None)
        return urlencode(params)

    def audit_detail(self) -> dict[str, Any]:
        return {
            "patient_filter": self.patient_filter,
            "user": self.user_id,
            "group": self.group,
            "from": self.date_from.isoformat() if self.date_from else None,
            "to": self.date_to.isoformat() if self.date_to else None,
        }


def _return_reasons(events: list[AuditEvent]) -> dict[int, str]:
    """The reason stored with the form for each "returned" event (by event id): the form's
    return recorded at that moment (the audit row itself only says a reason was given)."""
    returned = [e for e in events if e.action == "nnrr.form.returned" and e.object_id]
    valid = set()
    for event in returned:
        try:
            valid.add(uuid.UUID(event.object_id))
        except ValueError:
            continue
    if not valid:
        return {}
    from nnrr.questionnaires.models import FormReturn

    by_form: dict[str, list[FormReturn]] = {}
    for item in FormReturn.objects.filter(response_id__in=valid).order_by("returned_at", "id"):
        by_form.setdefault(str(item.response_id), []).append(item)
    reasons = {}
    for event in returned:
        earlier = [
            r
            for r in by_form.get(event.object_id, [])
            if r.returned_at <= event.at + dt.timedelta(seconds=5)
        ]
        if earlier:
            reasons[event.pk] = earlier[-1].reason
    return reasons


def _rows(profile: Profile, events: list[AuditEvent]) -> list[dict[str, Any]]:
    patients = access.visible_patients(profile, (e.patient_id for e in events if e.patient_id))
    reasons = _return_reasons(events)
    # Translated once per page, not per row (a row's get_outcome_display() and role label each
    # translated every choice again: half of the page's Python time).
    outcomes = {value: str(label) for value, label in Outcome.choices}
    roles: dict[str, str] = {}
    rows = []
    for event in events:
        patient = patients.get(event.patient_id) if event.patient_id else None
        if event.role not in roles:
            roles[event.role] = role_label(event.role)
        own_actor = event.actor_id is None and event.role in ("pasient", "system")
        rows.append(
            {
                "event": event,
                "at": timezone.localtime(event.at),
                # The patient in the portal and the system itself are named by what they are.
                "who": roles[event.role] if own_actor else (event.actor_name or "–"),
                "role": "" if own_actor else roles[event.role],
                "unit": event.unit.short_name if event.unit_id and event.unit else "",
                "what": describe(
                    event.action, event.detail, reasons.get(event.pk, ""), event.outcome
                ),
                "outcome": outcomes.get(event.outcome, event.outcome),
                "denied": event.outcome != Outcome.OK,
                "patient_name": patient.name if patient else "",
                "patient_nid": patient.national_id if patient else "",
                "has_patient": bool(event.patient_id),
            }
        )
    return rows


def _users(profile: Profile) -> list[tuple[int, str]]:
    """The "Bruker" filter's choices: (id, name as ``str(user)`` shows it), by name; the unit's
    members (anyone who ever had a profile there), or everyone for a national administrator."""
    users = User.objects.all()
    if not profile.is_national:
        users = users.filter(
            pk__in=Membership.objects.filter(unit_id=profile.unit.pk).values("user_id")
        )
    return sorted(
        (
            (pk, full_name or username)
            for pk, full_name, username in users.values_list("pk", "full_name", "username")
        ),
        key=lambda row: (row[1].casefold(), row[0]),
    )


@never_cache
@profile_required(Right.AUDIT_LOG)
@require_http_methods(["GET", "POST"])
def audit_log(request: HttpRequest) -> HttpResponse:
    profile = access.require_log_reader(request)
    error = ""
    typed = ""
    if request.method == "POST":
        typed = request.POST.get("fodselsnummer", "").replace("\x00", "").strip()[:40]
        base = LogFilter(request.POST)
        if not typed:
            return redirect(f"{reverse('audit:log')}?{base.query()}")
        try:
            nid = parse_national_id(typed)
        except NationalIdError as exc:
            error = exc.messages[0]
        else:
            base.patient_ids = access.patient_ids_for_number(profile, nid.value)[:MAX_PATIENT_IDS]
            base.patient_filter = True
            return redirect(f"{reverse('audit:log')}?{base.query()}")
    log_filter = LogFilter(request.GET)
    events = log_filter.apply(access.events_for(profile))
    if error:
        events = events.none()
    if request.GET.get("format") == "csv" and request.method == "GET":
        return _csv(request, profile, log_filter, events)  # type: ignore[return-value]
    page = CappedPaginator(events.select_related("unit"), PAGE_SIZE).get_page(
        request.GET.get("side")
    )
    rows = _rows(profile, list(page.object_list))
    selected = access.visible_patients(profile, log_filter.patient_ids)
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.audit.viewed",
        patient_id=log_filter.patient_ids[0] if len(log_filter.patient_ids) == 1 else None,
        detail=log_filter.audit_detail(),
    )
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "rows": rows,
            "users": _users(profile),
            "filter": log_filter,
            "groups": [(key, str(label)) for key, (label, _prefixes) in ACTION_GROUPS.items()],
            "selected_patients": list(selected.values()),
            "typed": typed,
            "error": error,
            "filter_errors": log_filter.errors,
            "national": profile.is_national,
            "query_prev": log_filter.query(side=page.previous_page_number())
            if page.has_previous()
            else "",
            "query_next": log_filter.query(side=page.next_page_number()) if page.has_next() else "",
            "query_csv": log_filter.query(format="csv"),
        },
    )


class CappedPaginator(Paginator):
    """Pages of the Logg, counted up to :data:`COUNT_CAP` events (a count with a LIMIT, so its
    cost does not grow with the history); ``capped`` says there are more."""

    @cached_property
    def _counted(self) -> int:
        events: QuerySet[AuditEvent] = self.object_list  # type: ignore[assignment]
        # Unordered and only the key: the database counts from the unit's index alone.
        return int(events.order_by().values("pk")[: COUNT_CAP + 1].count())

    @cached_property
    def count(self) -> int:
        return min(self._counted, COUNT_CAP)

    @property
    def capped(self) -> bool:
        return self._counted > COUNT_CAP


def _safe_cell(value: Any) -> str:
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv(
    request: HttpRequest, profile: Profile, log_filter: LogFilter, events: QuerySet[AuditEvent]
) -> StreamingHttpResponse:
    total = min(events.count(), CSV_MAX_ROWS)
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.audit.exported",
        patient_id=log_filter.patient_ids[0] if len(log_filter.patient_ids) == 1 else None,
        detail={**log_filter.audit_detail(), "rows": total},
    )
    header = [
        _("Tidspunkt"),
        _("Bruker"),
        _("Rolle"),
        _("Enhet"),
        _("Hendelse"),
        _("Utfall"),
        _("Pasient"),
        _("Fødselsnummer"),
    ]
    selected = events.select_related("unit")[:CSV_MAX_ROWS]

    def lines() -> Any:
        writer = csv.writer(_Echo(), delimiter=";")
        yield "\ufeff" + writer.writerow(header)
        chunk: list[AuditEvent] = []
        for event in selected.iterator(chunk_size=2000):
            chunk.append(event)
            if len(chunk) == 2000:
                yield from _csv_rows(writer, profile, chunk)
                chunk = []
        yield from _csv_rows(writer, profile, chunk)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="nnrr-logg-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _csv_rows(writer: Any, profile: Profile, events: list[AuditEvent]) -> Any:
    for row in _rows(profile, events):
        yield writer.writerow(
            [
                _safe_cell(row["at"].strftime("%d.%m.%Y %H:%M:%S")),
                _safe_cell(row["who"]),
                _safe_cell(row["role"]),
                _safe_cell(row["unit"]),
                _safe_cell(row["what"]),
                _safe_cell(row["outcome"]),
                _safe_cell(row["patient_name"]),
                _safe_cell(row["patient_nid"]),
            ]
        )


# --- Innsyn -----------------------------------------------------------------------------------


@never_cache
@profile_required(Right.ADMINISTER)
@require_http_methods(["GET", "POST"])
def innsyn(request: HttpRequest) -> HttpResponse:
    """Every access to one patient's data across units: on screen, printable, and as PDF."""
    profile: Profile = request.profile  # type: ignore[attr-defined]
    context: dict[str, Any] = {"typed": "", "error": "", "rows": None}
    if request.method == "POST":
        typed = request.POST.get("fodselsnummer", "").replace("\x00", "").strip()[:40]
        context["typed"] = typed
        try:
            nid = parse_national_id(typed)
        except NationalIdError as exc:
            context["error"] = exc.messages[0]
        else:
            ids = access.patient_ids_for_number(profile, nid.value)
            as_pdf = request.POST.get("format") == "pdf"
            events = (
                list(
                    AuditEvent.objects.filter(patient_id__in=ids)
                    .select_related("unit")
                    .order_by("at", "id")
                )
                if ids
                else []
            )
            rows = _rows(profile, events)
            patients = list(access.visible_patients(profile, ids).values())
            for patient_id in ids:
                record_event(
                    actor=Actor.from_request(request),
                    action="nnrr.audit.innsyn",
                    patient_id=patient_id,
                    detail={"format": "pdf" if as_pdf else "html", "events": len(events)},
                )
            context.update(
                {
                    "rows": rows,
                    "patient": patients[0] if patients else None,
                    "national_id": nid.value,
                    "produced_at": timezone.localtime(),
                    "produced_by": profile.user,
                }
            )
            if as_pdf:
                return _pdf(request, context, nid.value)
    return render(request, "audit/innsyn.html", context)


def _pdf(request: HttpRequest, context: dict[str, Any], national_id: str) -> HttpResponse:
    from weasyprint import HTML

    html = render_to_string("audit/innsyn_pdf.html", context, request=request)
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    stamp = oslo_date(timezone.now()).isoformat()
    response["Content-Disposition"] = f'attachment; filename="innsyn-{stamp}.pdf"'
    response["Cache-Control"] = "no-store"
    return response
