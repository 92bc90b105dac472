"""The export pages: "Eksporter skjema" (choose, confirm, deliver), job state, download, log.

The selection travels between the steps as the form's own fields (nothing kept on the server
before "Eksporter"), and is checked again at every step.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import Role
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.audit.services import not_found, record_event
from nnrr.exports.columns import TABLE_NAMES, table_label
from nnrr.exports.forms import DeliveryForm, FilterForm
from nnrr.exports.models import ExportFormat, ExportJob
from nnrr.exports.query import ExportFilters, ExportRefused, count_forms
from nnrr.exports.services import (
    DuplicateRequest,
    ExportOptions,
    purge_expired,
    recover_interrupted,
    request_export,
)
from nnrr.questionnaires.models import FormKind

LOG_ACTIONS = ("nnrr.export.completed", "nnrr.export.failed")


def _profile(request: HttpRequest) -> Profile:
    return request.profile  # type: ignore[attr-defined]


def _my_jobs(request: HttpRequest) -> list[ExportJob]:
    profile = _profile(request)
    return list(
        ExportJob.objects.filter(user=profile.user, membership_id=profile.membership_id).order_by(
            "-created_at"
        )[:10]
    )


def _counts(profile: Profile, filters: ExportFilters) -> tuple[dict[str, int], int]:
    counts = count_forms(profile, filters)
    ordered = {
        table_label(TABLE_NAMES[k]): counts.get(k, 0) for k in TABLE_NAMES if k in filters.forms
    }
    return ordered, sum(ordered.values())


@profile_required(Right.EXPORT)
@require_http_methods(["GET", "POST"])
def export_page(request: HttpRequest) -> HttpResponse:
    """Step 1 (GET): the selection. POST with ``step``: confirm (2) or deliver (3)."""
    profile = _profile(request)
    national = profile.is_national
    data = request.POST if request.method == "POST" else None
    filter_form = FilterForm(data, national=national)
    context: dict[str, Any] = {
        "filter_form": filter_form,
        "national": national,
        "jobs": _my_jobs(request),
        "may_identify": profile.can_export_identifiable,
    }
    if request.method == "GET" or not filter_form.is_valid():
        return render(request, "exports/select.html", context, status=200 if data is None else 400)
    filters = filter_form.filters()
    try:
        counts, total = _counts(profile, filters)
    except ExportRefused as refusal:
        filter_form.add_error(None, str(refusal))
        return render(request, "exports/select.html", context, status=400)
    context["hidden_filters"] = [
        (name, value)
        for name in filter_form.fields
        for value in request.POST.getlist(name)
        if value != ""
    ]
    step = request.POST.get("step", "confirm")
    delivery = DeliveryForm(
        request.POST if step == "export" else None, may_identify=profile.can_export_identifiable
    )
    context.update(
        filters=filters,
        describe=filters.describe(short=True),
        counts=counts,
        total=total,
        delivery=delivery,
        course_table=FormKind.CLINICIAN in filters.forms,
    )
    if step == "confirm":
        return render(request, "exports/confirm.html", context)
    if step == "deliver":
        delivery = DeliveryForm(request.POST, may_identify=profile.can_export_identifiable)
        delivery.is_valid()
        context["delivery"] = DeliveryForm(
            initial={"identifiable": delivery.cleaned_data.get("identifiable", False)},
            may_identify=profile.can_export_identifiable,
        )
        context["identifiable"] = (
            bool(delivery.cleaned_data.get("identifiable")) and profile.can_export_identifiable
        )
        return render(request, "exports/deliver.html", context)
    # step == "export"
    context["identifiable"] = request.POST.get("identifiable") == "on"
    if not delivery.is_valid():
        return render(request, "exports/deliver.html", context, status=400)
    purpose = delivery.cleaned_data["purpose"].strip()
    if not purpose:
        delivery.add_error("purpose", _("Oppgi formålet med eksporten."))
        return render(request, "exports/deliver.html", context, status=400)
    options = ExportOptions(
        format=delivery.cleaned_data["format"],
        identifiable=bool(delivery.cleaned_data["identifiable"]),
        per_export_key=bool(delivery.cleaned_data["per_export_key"]),
        delimiter=delivery.cleaned_data.get("delimiter") or ";",
    )
    try:
        job, password = request_export(
            actor=Actor.from_request(request),
            profile=profile,
            filters=filters,
            options=options,
            purpose=purpose,
            request_token=delivery.cleaned_data.get("token") or None,
        )
    except DuplicateRequest as duplicate:
        if duplicate.job.user_id != profile.user.pk:
            raise Http404 from None
        messages.info(
            request,
            _("Denne eksporten er allerede bestilt. Passordet ble vist da, og vises ikke igjen."),
        )
        return redirect("exports:job", job_id=duplicate.job.pk)
    except ExportRefused as refusal:
        delivery.add_error(None, str(refusal))
        return render(request, "exports/deliver.html", context, status=403)
    job.refresh_from_db()
    # The only time the password is ever shown: this response. It is not stored anywhere.
    response = render(
        request, "exports/job.html", {"job": job, "password": password, "fresh": True}
    )
    response["Cache-Control"] = "no-store"
    return response


@profile_required(Right.EXPORT)
@require_GET
def count(request: HttpRequest) -> HttpResponse:
    """The live count of matching forms (htmx, on every change of the selection)."""
    profile = _profile(request)
    form = FilterForm(request.GET, national=profile.is_national)
    context: dict[str, Any] = {}
    if form.is_valid():
        try:
            context["counts"], context["total"] = _counts(profile, form.filters())
        except ExportRefused as refusal:
            context["error"] = str(refusal)
    else:
        context["error"] = _("Rett opp utvalget for å se antallet.")
    return render(request, "exports/_count.html", context)


def _own_job(request: HttpRequest, job_id: uuid.UUID) -> ExportJob:
    """The job, only for the user and profile that ordered it; anything else answers 404."""
    profile = _profile(request)
    job = ExportJob.objects.filter(
        pk=job_id, user=profile.user, membership_id=profile.membership_id
    ).first()
    if job is None:
        raise not_found(
            request, "export", job_id, _("Finnes ikke, eller tilhører en annen bruker.")
        )
    return job


@profile_required(Right.EXPORT)
@require_GET
def job_page(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _own_job(request, job_id)
    return render(request, "exports/job.html", {"job": job})


@profile_required(Right.EXPORT)
@require_GET
def job_status(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    """The job's state (htmx polls this until the job is finished)."""
    job = _own_job(request, job_id)
    if job.state == ExportJob.State.RUNNING and recover_interrupted():
        job.refresh_from_db()
    if job.state == ExportJob.State.READY and job.expires_at and job.expires_at <= timezone.now():
        purge_expired()
        job.refresh_from_db()
    return render(request, "exports/_status.html", {"job": job})


@profile_required(Right.EXPORT)
@require_GET
def download(request: HttpRequest, job_id: uuid.UUID) -> HttpResponse:
    job = _own_job(request, job_id)
    now = timezone.now()
    if (
        job.state != ExportJob.State.READY
        or not job.archive_path.exists()
        or (job.expires_at and job.expires_at <= now)
    ):
        if job.state == ExportJob.State.READY and job.expires_at and job.expires_at <= now:
            purge_expired(now=now)
        return render(request, "exports/gone.html", {"job": job}, status=410)
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.export.downloaded",
        object_type="export",
        object_id=str(job.pk),
        detail={"job": str(job.pk), "sha256": job.sha256},
    )
    response: HttpResponse = FileResponse(  # type: ignore[assignment]
        job.archive_path.open("rb"),
        as_attachment=True,
        filename=job.archive_name,
        content_type="application/zip",
    )
    response["Cache-Control"] = "no-store"
    return response


@profile_required(Right.EXPORT)
@require_GET
def export_log(request: HttpRequest) -> HttpResponse:
    """ "Eksportlogg": every export, for the Lokal registeransvarlig (own unit) and the
    Registeradministrator (all units)."""
    profile = _profile(request)
    if profile.role not in (Role.LOKAL_REGISTERANSVARLIG, Role.REGISTERADMINISTRATOR):
        raise PermissionDenied(_("Din rolle gir ikke tilgang til eksportloggen."))
    events = AuditEvent.objects.filter(action__in=LOG_ACTIONS)
    national = profile.is_national
    if not national:
        events = events.filter(unit=profile.unit)
    page = Paginator(events.select_related("unit"), 50).get_page(request.GET.get("page"))
    rows = []
    for event in page:
        detail = event.detail or {}
        counts = detail.get("row_counts") or {}
        rows.append(
            {
                "event": event,
                "purpose": detail.get("purpose", ""),
                "format": dict(ExportFormat.choices).get(detail.get("format", ""), ""),
                "identifiable": detail.get("identifiable"),
                "rows": sum(counts.values()) if counts else None,
                "counts": {table_label(name): n for name, n in counts.items()},
                "sha256": detail.get("sha256", ""),
                "source": detail.get("source", ""),
                "error": detail.get("error", ""),
                "role": dict(Role.choices).get(event.role, event.role),
                "filters": ExportFilters.from_json(detail["filters"]).describe(short=True)
                if detail.get("filters")
                else [],
            }
        )
    record_event(actor=Actor.from_request(request), action="nnrr.export.log_viewed")
    return render(request, "exports/log.html", {"page": page, "rows": rows, "national": national})
