"""Front page, patient search and registration, the patient page, booking a course."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import AccessApplication, Role, User
from nnrr.accounts.profiles import Right
from nnrr.administration import services as access_admin
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.errors import ConflictError
from nnrr.lib.ids import parse_id
from nnrr.lib.redirects import next_from, safe_path
from nnrr.patients.forms import BookingForm, ContactForm, PatientSearchForm, RegisterPatientForm
from nnrr.patients.models import Course
from nnrr.patients.services import change_owner, register_patient, update_contact
from nnrr.questionnaires import wording as questionnaire_wording
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import services as scheduling


@profile_required()
def front_page(request: HttpRequest) -> HttpResponse:
    """The register front page ("Hjem"): patient search and "Opprett nytt skjema"."""
    profile = access.active_profile(request)
    context: dict[str, Any] = {"search_form": PatientSearchForm()}
    if profile.has(Right.FORMS):
        # Both badges in one query on the maintained marker of unfinished Behandlerskjema.
        context["counts"] = access.worklist_counts(profile, today=oslo_date(timezone.now()))
        # The red dot is "mine" > 0: no second query for it (see worklists.context_processors).
        context["worklist_waiting"] = context["counts"]["mine"] > 0
        # Staff are told which instruments of the blank paper forms carry placeholder wording.
        context["placeholder_wording"] = questionnaire_wording.placeholders_of_patient_forms()
    if profile.has(Right.MANAGE_ACCESS):
        # Whoever approves access sees the applications waiting for them first thing.
        waiting = access_admin.applications_for(profile).filter(
            status=AccessApplication.Status.PENDING
        )
        context["waiting_applications"] = [
            application
            for application in waiting.order_by("created_at")[:20]
            if access_admin.can_decide(profile, application)
        ]
    return render(request, "patients/front.html", context)


def _search(request: HttpRequest, *, then: str) -> HttpResponse:
    # A search is a POST: the fødselsnummer never appears in a URL, a browser history or an
    # access log of a proxy.
    form = PatientSearchForm(request.POST if request.method == "POST" else None)
    if not form.is_valid():
        return render(
            request, "patients/search.html", {"search_form": form, "then": then}, status=200
        )
    nid = form.cleaned_data["national_id"]
    patient = access.search_patient(request, nid.value)
    if patient is not None:
        target = "patients:new_form" if then == "create" else "patients:detail"
        return redirect(target, patient_id=patient.pk)
    register_form = RegisterPatientForm(initial={"national_id": nid.value})
    return render(
        request,
        "patients/register.html",
        {"national_id": nid, "form": register_form, "then": then},
    )


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def patient_search(request: HttpRequest) -> HttpResponse:
    """Search by fødselsnummer: the patient page, or an offer to register the patient."""
    return _search(request, then="view")


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def create_search(request: HttpRequest) -> HttpResponse:
    """ "Opprett nytt skjema" from the front page: find the patient, then choose the form."""
    return _search(request, then="create")


@profile_required(Right.FORMS)
@require_POST
def patient_register(request: HttpRequest) -> HttpResponse:
    profile = access.require_right(request, Right.FORMS)
    form = RegisterPatientForm(request.POST)
    then = request.POST.get("then", "view")
    if not form.is_valid():
        nid = None
        try:
            nid = form.fields["national_id"].clean(request.POST.get("national_id", ""))
        except ValidationError:
            messages.error(request, _("Fødselsnummeret er ugyldig. Søk på nytt."))
            return redirect("patients:front")
        return render(
            request, "patients/register.html", {"national_id": nid, "form": form, "then": then}
        )
    patient = register_patient(
        actor=Actor.from_request(request),
        unit=profile.unit,
        national_id=form.cleaned_data["national_id"].value,
        name=form.cleaned_data["name"],
        email=form.cleaned_data["email"],
        mobile=form.cleaned_data["mobile"],
    )
    messages.success(request, _("%(name)s er registrert ved enheten.") % {"name": patient.name})
    return redirect(
        "patients:new_form" if then == "create" else "patients:detail", patient_id=patient.pk
    )


@profile_required(Right.FORMS)
def patient_detail(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The patient's forms at the active unit, with their actions and the ePROM orders."""
    patient = access.access_patient(request, patient_id)
    courses = access.patient_courses(access.active_profile(request), patient)
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.patient.viewed",
        patient_id=patient.pk,
        obj=patient,
    )
    now = timezone.now()
    active = [c for c in courses if c.status == Course.Status.ACTIVE]
    closed = [c for c in courses if c.status != Course.Status.ACTIVE]
    _offer_actions(active, now=now)
    return render(
        request,
        "patients/detail.html",
        {"patient": patient, "courses": active, "closed_courses": closed, "now": now},
    )


def _offer_actions(courses: list[Any], *, now: dt.datetime) -> None:
    """Each row's actions from the services' own rules, asked once here: the templates show
    what they answer and never restate them."""
    for course in courses:
        clinician = [f.status for f in course.shown_forms if f.kind == FormKind.CLINICIAN]
        course.can_be_deleted = scheduling.course_can_be_deleted(next(iter(clinician), None))
        for order in course.shown_orders:
            order.code_can_be_shown = scheduling.code_can_be_shown(order, now=now)


@profile_required(Right.FORMS)
def new_form(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """ "Opprett nytt skjema": choose the form type (the Behandlerskjema opens a course)."""
    patient = access.access_patient(request, patient_id)
    access.audit_view(request, "nnrr.patient.new_form_opened", patient_id=patient.pk, obj=patient)
    return render(request, "patients/new_form.html", {"patient": patient})


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def create_clinician_form(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """The new Behandlerskjema: Henvisningsdato and Planlagt dato for konsultasjon, then
    "Avslutt skjemautfylling" saves it as Kladd and plans the patient's questionnaire."""
    profile = access.require_right(request, Right.FORMS)
    patient = access.access_patient(request, patient_id)
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            course = scheduling.book_course(
                actor=Actor.from_request(request),
                patient=patient,
                unit=profile.unit,
                referral_date=form.cleaned_data["referral_date"],
                planned_date=form.cleaned_data["planned_consultation_date"],
                now=timezone.now(),
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            order = scheduling.open_pre_treatment_order(course)
            if order is not None:
                messages.success(
                    request,
                    _(
                        "Behandlerskjema er lagret i kladd. Pasientskjema før behandling sendes "
                        "automatisk %(date)s kl. %(time)s."
                    )
                    % {
                        "date": timezone.localtime(order.send_at).strftime("%d.%m.%Y"),
                        "time": timezone.localtime(order.send_at).strftime("%H:%M"),
                    },
                )
            else:
                messages.success(request, _("Behandlerskjema er lagret i kladd."))
            return redirect("patients:detail", patient_id=patient.pk)
    access.audit_view(request, "nnrr.course.booking_opened", patient_id=patient.pk, obj=patient)
    return render(request, "patients/booking.html", {"patient": patient, "form": form})


def _add_errors(form: BookingForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
    else:
        for error in exc.messages:
            form.add_error(None, error)


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def course_dates(request: HttpRequest, course_id: uuid.UUID) -> HttpResponse:
    """Edit Henvisningsdato / Planlagt dato for konsultasjon (rebooking rules apply)."""
    course = access.access_course(request, course_id)
    initial = {
        "referral_date": course.referral_date,
        "planned_consultation_date": course.planned_consultation_date,
        "version": course.version,
    }
    form = BookingForm(request.POST or None, initial=initial)
    context: dict[str, Any] = {"course": course, "patient": course.patient, "form": form}
    if request.method == "POST" and form.is_valid():
        referral = form.cleaned_data["referral_date"]
        planned = form.cleaned_data["planned_consultation_date"]
        try:
            # No version posted means we cannot know what the user saw: a conflict, never
            # "skip the check".
            expected = form.cleaned_data.get("version")
            if expected is None:
                raise ConflictError
            effect = scheduling.move_course(
                actor=Actor.from_request(request),
                course=course,
                referral_date=referral,
                planned_date=planned,
                expected_version=expected,
                now=timezone.now(),
            ).effect
        except ValidationError as exc:
            _add_errors(form, exc)
        except ConflictError:
            form.add_error(
                None,
                _(
                    "Noen andre har endret forløpet mens du hadde det åpent. "
                    "Last siden på nytt og prøv igjen."
                ),
            )
        else:
            if effect == scheduling.Rebooking.NEEDS_NEW_COURSE:
                context.update(needs_new_course=True, new_planned=planned, new_referral=referral)
                _audit_course(request, "nnrr.course.dates_opened", course)
                return render(request, "patients/course_dates.html", context)
            text = {
                scheduling.Rebooking.REPLANNED: _(
                    "Ny dato er lagret. Utsendingen av pasientskjema er tilpasset den nye timen."
                ),
                scheduling.Rebooking.KEPT: _(
                    "Ny dato er lagret. Pasientskjemaet er allerede sendt og "
                    "gjelder fortsatt; frist og påminnelse følger den nye datoen."
                ),
                scheduling.Rebooking.UNCHANGED: _("Ny dato er lagret."),
            }[effect]
            messages.success(request, text)
            return redirect("patients:detail", patient_id=course.patient_id)
    _audit_course(request, "nnrr.course.dates_opened", course)
    return render(request, "patients/course_dates.html", context)


def _audit_course(request: HttpRequest, action: str, course: Course) -> None:
    access.audit_view(request, action, patient_id=course.patient_id, obj=course)


@profile_required(Right.FORMS)
@require_POST
def course_recreate(request: HttpRequest, course_id: uuid.UUID) -> HttpResponse:
    """Delete the old course and book a new one (the time moved more than 30 days)."""
    course = access.access_course(request, course_id)
    form = BookingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Datoene er ugyldige. Prøv igjen."))
        return redirect("patients:course_dates", course_id=course.pk)
    try:
        # The user confirmed what "Endre dato" (scheduling.move_course) offered.
        scheduling.recreate_course(
            actor=Actor.from_request(request),
            course=course,
            referral_date=form.cleaned_data["referral_date"],
            planned_date=form.cleaned_data["planned_consultation_date"],
            now=timezone.now(),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("patients:course_dates", course_id=course.pk)
    messages.success(
        request, _("Det gamle forløpet er slettet og et nytt er opprettet med ny dato.")
    )
    return redirect("patients:detail", patient_id=course.patient_id)


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def course_delete(request: HttpRequest, course_id: uuid.UUID) -> HttpResponse:
    """ "Slett skjema": the patient did not come, or does not want to take part."""
    course = access.access_course(request, course_id)
    back = _local_path(request.POST.get("back") or request.GET.get("back", ""))
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        if not reason:
            _audit_course(request, "nnrr.course.delete_opened", course)
            return render(
                request,
                "patients/course_delete.html",
                {
                    "course": course,
                    "patient": course.patient,
                    "error": _("Skriv hvorfor skjemaet slettes."),
                    "back": back,
                },
            )
        try:
            scheduling.delete_course(
                actor=Actor.from_request(request),
                course=course,
                reason=reason[:300],
                now=timezone.now(),
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(back or reverse("patients:detail", args=[course.patient_id]))
        messages.success(request, _("Behandlerskjema og forløpet er slettet."))
        return redirect(back or reverse("patients:detail", args=[course.patient_id]))
    _audit_course(request, "nnrr.course.delete_opened", course)
    return render(
        request,
        "patients/course_delete.html",
        {"course": course, "patient": course.patient, "back": back},
    )


def _local_path(value: str) -> str:
    """A "back" address only when it is a path on this site (e.g. the worklist it came from)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return ""


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def course_owner(request: HttpRequest, course_id: uuid.UUID) -> HttpResponse:
    """ "Endre eier": hand the Behandlerskjema to a user of the unit (their worklist)."""
    profile = access.require_right(request, Right.FORMS)
    course = access.access_course(request, course_id)
    candidates = (
        User.objects.filter(
            memberships__unit=profile.unit,
            memberships__role__in=[Role.PASIENTANSVARLIG, Role.LOKAL_REGISTERANSVARLIG],
            is_active=True,
        )
        .distinct()
        .order_by("full_name")
    )
    query = request.GET.get("q", "").strip()
    if query:
        candidates = candidates.filter(full_name__icontains=query)
    if request.method == "POST":
        owner_id = parse_id(request.POST.get("owner", ""))
        new_owner = candidates.filter(pk=owner_id).first() if owner_id is not None else None
        if new_owner is None:
            messages.error(request, _("Velg en bruker ved enheten."))
        else:
            change_owner(actor=Actor.from_request(request), course=course, owner=new_owner)
            messages.success(request, _("%(name)s er nå eier av skjemaet.") % {"name": new_owner})
            return redirect(
                next_from(
                    request, reverse("patients:detail", args=[course.patient_id]), name="back"
                )
            )
    _audit_course(request, "nnrr.course.owner_opened", course)
    return render(
        request,
        "patients/course_owner.html",
        {
            "course": course,
            "patient": course.patient,
            "candidates": candidates[:50],
            "q": query,
            "back": safe_path(request.GET.get("back", ""), ""),
        },
    )


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def patient_contact(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    patient = access.access_patient(request, patient_id)
    form = ContactForm(
        request.POST or None, initial={"email": patient.email, "mobile": patient.mobile}
    )
    if request.method == "POST" and form.is_valid():
        update_contact(
            actor=Actor.from_request(request),
            patient=patient,
            email=form.cleaned_data["email"],
            mobile=form.cleaned_data["mobile"],
        )
        messages.success(request, _("Kontaktinformasjonen er lagret."))
        return redirect("patients:detail", patient_id=patient.pk)
    access.audit_view(request, "nnrr.patient.contact_opened", patient_id=patient.pk, obj=patient)
    return render(request, "patients/contact.html", {"patient": patient, "form": form})


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def patient_withdraw(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    """Record the patient's withdrawal of consent at this unit: the unit's courses of the patient
    lose their registry data. Other units' records are the Registeradministrator's to withdraw
    (see :func:`nnrr.patients.registry_views.registry_withdraw`)."""
    patient = access.access_patient(request, patient_id)
    active = list(
        access.courses_of_unit(access.active_profile(request))
        .filter(patient=patient, status=Course.Status.ACTIVE)
        .order_by("-planned_consultation_date")
    )
    error = ""
    chosen: set[str] = {str(c.pk) for c in active}
    if request.method == "POST":
        reason = request.POST.get("reason", "").strip()
        if "course_choice" in request.POST:
            # Consent belongs to the course: the patient may withdraw it for some courses only.
            chosen = set(request.POST.getlist("course")) & {str(c.pk) for c in active}
        if not reason:
            error = _("Skriv årsaken pasienten oppga (eller «ikke oppgitt»).")
        elif request.POST.get("confirm") != "yes":
            error = _("Bekreft at pasienten har trukket samtykket.")
        elif active and not chosen:
            error = _("Velg forløpet (eller forløpene) samtykket trekkes for.")
        else:
            count = scheduling.withdraw_consent(
                actor=Actor.from_request(request),
                patient=patient,
                reason=reason[:300],
                now=timezone.now(),
                course_ids=[c.pk for c in active if str(c.pk) in chosen],
            )
            messages.success(
                request, _("Samtykket er trukket. %(count)d forløp er slettet.") % {"count": count}
            )
            return redirect("patients:detail", patient_id=patient.pk)
    access.audit_view(request, "nnrr.consent.withdrawal_opened", patient_id=patient.pk, obj=patient)
    return render(
        request,
        "patients/withdraw.html",
        {"patient": patient, "error": error, "courses": active, "chosen": chosen},
    )
