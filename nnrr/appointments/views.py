""" "Mottatte avtaler": what the unit's booking system sent, what each message did, and the ones
that wait for the Lokal registeransvarlig ("Behandle på nytt", "Merk som håndtert")."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Right
from nnrr.appointments import services
from nnrr.appointments.forms import ReferralDateForm
from nnrr.appointments.models import WAITING_STATES, InboundMessage, MessageState
from nnrr.audit.context import Actor

PAGE_SIZE = 50


@profile_required(Right.RECEIVED_APPOINTMENTS)
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    profile = access.active_profile(request)
    show = "alle" if request.GET.get("vis") == "alle" else "venter"
    queryset = access.received_messages(profile).select_related("course")
    waiting = queryset.filter(state__in=WAITING_STATES)
    shown = waiting if show == "venter" else queryset
    page = Paginator(shown.order_by("-received_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    access.audit_view(
        request, "nnrr.appointment.list_opened", patient_id=None, detail={"show": show}
    )
    return render(
        request,
        "appointments/index.html",
        {"page": page, "show": show, "waiting_count": waiting.count()},
    )


def _detail(
    request: HttpRequest, message: InboundMessage, form: ReferralDateForm | None = None
) -> HttpResponse:
    profile = access.active_profile(request)
    access.audit_view(
        request,
        "nnrr.appointment.message_opened",
        patient_id=message.course.patient_id if message.course else None,
        obj=message,
    )
    return render(
        request,
        "appointments/detail.html",
        {
            "message": message,
            "form": form or ReferralDateForm(),
            # The raw message holds the whole fødselsnummer: only for those with form rights.
            "show_raw": profile.has(Right.FORMS),
            "course_visible": message.course is not None and profile.has(Right.FORMS),
            "waiting": message.state in WAITING_STATES,
            "needs_referral": message.state == MessageState.WAITING,
        },
    )


@profile_required(Right.RECEIVED_APPOINTMENTS)
@require_GET
def detail(request: HttpRequest, message_id: int) -> HttpResponse:
    return _detail(request, access.access_received_message(request, message_id))


@profile_required(Right.RECEIVED_APPOINTMENTS)
@require_POST
def retry(request: HttpRequest, message_id: int) -> HttpResponse:
    """ "Behandle på nytt" after a correction (the unit set up, the Henvisningsdato given)."""
    message = access.access_received_message(request, message_id)
    referral = None
    if message.state == MessageState.WAITING:
        form = ReferralDateForm(request.POST)
        if not form.is_valid():
            return _detail(request, message, form)
        referral = form.cleaned_data["referral_date"]
    try:
        outcome = services.reprocess(
            actor=Actor.from_request(request),
            message=message,
            now=timezone.now(),
            referral_date=referral,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_(text) for text in exc.messages))
        return redirect("appointments:detail", message_id=message.pk)
    if outcome.state in WAITING_STATES:
        messages.warning(
            request,
            _("Meldingen kunne fortsatt ikke behandles: %(reason)s") % {"reason": _(outcome.text)},
        )
    else:
        messages.success(
            request, _("Meldingen er behandlet: %(result)s") % {"result": _(outcome.text)}
        )
    return redirect("appointments:detail", message_id=message.pk)


@profile_required(Right.RECEIVED_APPOINTMENTS)
@require_POST
def handled(request: HttpRequest, message_id: int) -> HttpResponse:
    """ "Merk som håndtert": dealt with by hand; it no longer waits."""
    message = access.access_received_message(request, message_id)
    try:
        services.mark_handled(
            actor=Actor.from_request(request), message=message, now=timezone.now()
        )
    except ValidationError as exc:
        messages.error(request, " ".join(_(text) for text in exc.messages))
    else:
        messages.success(request, _("Meldingen er merket som håndtert."))
    return redirect("appointments:index")
