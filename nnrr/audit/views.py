"""The access log page for Lokal registeransvarlig (own unit) and Registeradministrator (all)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import Role, User
from nnrr.accounts.profiles import Right
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.audit.services import record_event
from nnrr.lib.ids import parse_id
from nnrr.lib.national_id import NationalIdError, parse_national_id


@profile_required(Right.AUDIT_LOG)
def audit_log(request: HttpRequest) -> HttpResponse:
    profile = request.profile  # type: ignore[attr-defined]
    events = AuditEvent.objects.all()
    national = profile.role == Role.REGISTERADMINISTRATOR
    if not national:
        events = events.filter(unit=profile.unit)
    error = ""
    patient_query = request.GET.get("patient", "").strip()
    if patient_query:
        try:
            nid = parse_national_id(patient_query)
        except NationalIdError as exc:
            error = exc.messages[0]
            events = events.none()
        else:
            from nnrr.patients.models import Patient  # the audit app sits below patients

            patient = (
                Patient.objects.filter(national_id=nid.value).values_list("pk", flat=True).first()
            )
            events = events.filter(patient_id=patient) if patient else events.none()
    user_query = request.GET.get("user", "").strip()
    users = User.objects.filter(memberships__unit=profile.unit).distinct().order_by("full_name")
    if national:
        users = User.objects.order_by("full_name")
    if (user_id := parse_id(user_query)) is not None:
        events = events.filter(actor_id=user_id)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events.select_related("actor", "unit"), 50).get_page(request.GET.get("page"))
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.audit.viewed",
        detail={"patient_filter": bool(patient_query), "user_filter": user_query},
    )
    return render(
        request,
        "audit/log.html",
        {
            "page": page,
            "users": users,
            "patient_query": patient_query,
            "user_query": user_query,
            "action": action,
            "error": error,
            "national": national,
        },
    )
