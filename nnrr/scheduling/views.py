"""Staff pages for ePROM orders: "Bestill ePROM", "Bestill på nytt", the order and its code."""

from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.requests import HtmxHttpRequest
from nnrr.patients.models import Course
from nnrr.questionnaires.models import PATIENT_FORM_KINDS, FormKind
from nnrr.scheduling import codes, services
from nnrr.scheduling.channels import FileChannel
from nnrr.scheduling.models import Message, MessageState, Order

CODE_SESSION_PREFIX = "nnrr_order_code:"


class OrderForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Skjema"),
        choices=[(k.value, k.label) for k in PATIENT_FORM_KINDS],
        widget=forms.RadioSelect,
        initial=FormKind.PRE_TREATMENT.value,
    )
    course = forms.ChoiceField(label=gettext_lazy("Behandlerskjema"), widget=forms.RadioSelect)
    notify_self = forms.BooleanField(
        label=gettext_lazy("Jeg vil varsle mottaker selv"), required=False
    )
    confirm = forms.BooleanField(required=True)

    def __init__(self, *args: Any, courses: list[Course], patient_name: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        course_field = self.fields["course"]
        assert isinstance(course_field, forms.ChoiceField)
        course_field.choices = [
            (
                str(c.pk),
                _("Behandlerskjema, planlagt konsultasjon %(date)s")
                % {"date": c.planned_consultation_date.strftime("%d.%m.%Y")},
            )
            for c in courses
        ]
        if len(courses) == 1:
            self.fields["course"].initial = str(courses[0].pk)
        self.fields["confirm"].label = _(
            "Jeg bekrefter at %(name)s skal motta skjemaet – PROMS"
        ) % {"name": patient_name}
        self.fields["confirm"].error_messages["required"] = _("Du må bekrefte bestillingen.")


class ReorderForm(forms.Form):
    notify_self = forms.BooleanField(
        label=gettext_lazy("Jeg vil varsle mottaker selv"), required=False
    )
    confirm = forms.BooleanField(required=True)


def _remember_code(request: HttpRequest, new: services.NewOrder) -> None:
    """Keep the new code for the order page to show once: sealed, never in plain text."""
    if new.order.notify_self:
        request.session[CODE_SESSION_PREFIX + str(new.order.pk)] = codes.seal_for_session(
            new.order.pk, new.code, time.time()
        )


def _delivery(order: Order) -> dict[str, Any]:
    """The order's messages, the first one delivered (its time ends "prosesseres"), and now."""
    messages_list = list(order.messages.all())
    delivered = next((m for m in messages_list if m.state == MessageState.SENT and m.sent_at), None)
    return {"messages_list": messages_list, "delivered": delivered, "now": timezone.now()}


def portal_base_url(request: HttpRequest) -> str:
    """The portal's address as staff see it: the configured one (NNRR_PORTAL_BASE_URL), or else
    the address this page was served from (a demo on any host and port)."""
    if settings.PORTAL_BASE_URL_SET:
        return settings.PORTAL_BASE_URL
    return f"{request.scheme}://{request.get_host()}"


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def order_eprom(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """ "Bestill ePROM": choose the patient form, the Behandlerskjema it belongs to, confirm."""
    patient = access.access_patient(request, patient_id)
    profile = access.active_profile(request)
    courses = list(
        access.courses_of_unit(profile)
        .filter(patient=patient, status=Course.Status.ACTIVE)
        .order_by("-planned_consultation_date")
    )
    if not courses:
        access.audit_view(request, "nnrr.order.form_opened", patient_id=patient.pk, obj=patient)
        messages.info(request, _("Opprett Behandlerskjema først; pasientskjemaet knyttes til det."))
        return redirect("patients:detail", patient_id=patient.pk)
    form = OrderForm(request.POST or None, courses=courses, patient_name=patient.name)
    if request.method == "POST" and form.is_valid():
        course = next(c for c in courses if str(c.pk) == form.cleaned_data["course"])
        course.patient = patient
        try:
            new = services.order_questionnaire(
                actor=Actor.from_request(request),
                course=course,
                kind=form.cleaned_data["kind"],
                notify_self=form.cleaned_data["notify_self"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            _remember_code(request, new)
            return redirect("scheduling:order_detail", order_id=new.order.pk)
    access.audit_view(request, "nnrr.order.form_opened", patient_id=patient.pk, obj=patient)
    return render(request, "scheduling/order.html", {"patient": patient, "form": form})


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def reorder(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """ "Bestill på nytt": a new order and code for the same form; the old code stops working."""
    order = access.access_order(request, order_id)
    form = ReorderForm(request.POST or None)
    form.fields["confirm"].label = _("Jeg bekrefter at %(name)s skal motta %(form)s – PROMS") % {
        "name": order.course.patient.name,
        "form": order.get_kind_display(),
    }
    form.fields["confirm"].error_messages["required"] = _("Du må bekrefte bestillingen.")
    if request.method == "POST" and form.is_valid():
        try:
            new = services.order_questionnaire(
                actor=Actor.from_request(request),
                course=order.course,
                kind=order.kind,
                notify_self=form.cleaned_data["notify_self"],
                now=timezone.now(),
                replaces=order,
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            _remember_code(request, new)
            return redirect("scheduling:order_detail", order_id=new.order.pk)
    access.audit_view(
        request, "nnrr.order.reorder_opened", patient_id=order.course.patient_id, obj=order
    )
    return render(
        request,
        "scheduling/reorder.html",
        {"order": order, "patient": order.course.patient, "form": form},
    )


@profile_required(Right.FORMS)
def order_detail(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """The order after "Bestill": the yellow key (shown once) or the dispatch status."""
    order = access.access_order(request, order_id)
    code = codes.unseal_from_session(
        order.pk, request.session.pop(CODE_SESSION_PREFIX + str(order.pk), None), time.time()
    )
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.order.viewed",
        patient_id=order.course.patient_id,
        obj=order,
        detail={"code_shown": bool(code)},
    )
    return render(
        request,
        "scheduling/order_detail.html",
        {
            "order": order,
            "patient": order.course.patient,
            "code": code,
            "portal_url": portal_base_url(request) + reverse("portal:start"),
            **_delivery(order),
        },
    )


@profile_required(Right.FORMS)
@require_POST
@never_cache
def show_code(request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
    """ "Vis engangskode": a pending order's gul nøkkel shown again, from the patient page."""
    order = access.access_order(request, order_id)
    try:
        code = services.show_code_again(
            actor=Actor.from_request(request), order=order, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patients:detail", patient_id=order.course.patient_id)
    return render(
        request,
        "scheduling/order_detail.html",
        {
            "order": order,
            "patient": order.course.patient,
            "code": code,
            "shown_again": True,
            "portal_url": portal_base_url(request) + reverse("portal:start"),
            **_delivery(order),
        },
    )


_LINK = re.compile(r"(https?://\S+)")


@profile_required(Right.FORMS)
def demo_outbox(request: HttpRequest) -> HttpResponse:
    """Demo only: the messages the file channel wrote for the active unit's patients, so a demo
    user can open the links. Never mounted with NNRR_PRODUCTION=1 (see urls.py)."""
    if not settings.DEMO or settings.PRODUCTION:
        raise Http404
    profile = access.require_right(request, Right.FORMS)
    channel = FileChannel(Path(settings.OUTBOX_DIR))
    messages_sent = Message.objects.filter(
        order__in=access.orders_of_unit(profile), channel=channel.name, state=MessageState.SENT
    )
    # "Pasient": the messages of one patient, found by name or e-mail address.
    wanted = request.GET.get("pasient", "").replace("\x00", "").strip()[:100]
    if wanted:
        messages_sent = messages_sent.filter(
            Q(order__course__patient__name__icontains=wanted)
            | Q(order__course__patient__email__icontains=wanted)
        )
    rows = messages_sent.order_by("-sent_at", "-created_at").values_list(
        "key", "order__course__patient__name"
    )[:100]
    mails: list[dict[str, Any]] = []
    for key, patient_name in rows:
        path = channel.path_for(key)
        try:
            raw = path.read_bytes()
        except OSError:
            continue  # the demo's outbox folder was emptied; the message row stays
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        body_part = parsed.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part is not None else ""
        mails.append(
            {
                "patient": patient_name,
                "to": parsed["To"],
                "subject": parsed["Subject"],
                "date": parsed["Date"],
                "body": body,
                "links": _LINK.findall(body),
            }
        )
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.demo.outbox_viewed",
        detail={"rows": len(mails), "filtered": bool(wanted)},
    )
    return render(request, "scheduling/demo_outbox.html", {"mails": mails, "wanted": wanted})


@profile_required(Right.FORMS)
def dispatch_log(request: HtmxHttpRequest, course_id: uuid.UUID) -> HttpResponse:
    """ "Utsendingslogg" of a course: its orders and every message, loaded when opened on the
    patient page (or as a page of its own without JavaScript)."""
    course = access.access_course(request, course_id)
    orders = Order.objects.filter(course=course).prefetch_related("messages").order_by("created_at")
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.course.dispatch_log.viewed",
        patient_id=course.patient_id,
        obj=course,
    )
    context = {"orders": orders, "course": course, "patient": course.patient}
    if request.htmx:
        return render(request, "scheduling/_dispatch_log.html", context)
    return render(request, "scheduling/dispatch_log.html", context)
