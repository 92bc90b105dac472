"""Staff pages for forms: read, fill the Behandlerskjema, Ferdigstill, return to draft, the
patient-form summary and journal note, paper forms keyed in by staff, and the diagnosis picker."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.dates import oslo_date
from nnrr.lib.errors import ConflictError
from nnrr.patients.models import Course
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import Definition, get_definition
from nnrr.questionnaires.models import PATIENT_FORM_KINDS, FormKind, FormStatus, Response, Source
from nnrr.questionnaires.paper import PaperHeader, render_paper_pdf
from nnrr.questionnaires.rendering import bind
from nnrr.questionnaires.summary import build_summary, journal_note
from nnrr.questionnaires.validation import (
    CompletionRefused,
    check_visit_date,
    diagnosis_checks,
    missing_for_completion,
    parse_submission,
)
from nnrr.scheduling import services as scheduling


def _definition(response: Response) -> Definition:
    return get_definition(response.kind, response.definition_version)


def _audit_view(request: HttpRequest, response: Response, action: str = "nnrr.form.viewed") -> None:
    record_event(
        actor=Actor.from_request(request),
        action=action,
        patient_id=response.course.patient_id,
        obj=response,
        detail={"kind": response.kind},
    )


@profile_required(Right.FORMS)
def response_detail(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    """A form read-only: the Behandlerskjema's answers, or a patient form's summary + answers."""
    response = access.access_response(request, response_id)
    definition = _definition(response)
    _audit_view(request, response)
    context: dict[str, Any] = {
        "response": response,
        "course": response.course,
        "patient": response.course.patient,
        "definition": definition,
        "form": bind(definition, response.answers, readonly=True),
        "can_return": access.active_profile(request).has(Right.RETURN_FORMS),
        "returned": form_services.latest_return(response),
    }
    if response.is_patient_form and response.status == FormStatus.FERDIGSTILT:
        context["summary"] = build_summary(response, definition)
    return render(request, "questionnaires/response.html", context)


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def fill(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    """ "Fyll ut skjema": the Behandlerskjema; "Avslutt skjemautfylling" saves a draft,
    "Ferdigstill" completes it or lists the missing items as links under the patient name."""
    response = access.access_response(request, response_id)
    if response.kind != FormKind.CLINICIAN:
        raise Http404
    if not response.is_editable:
        messages.info(request, _("Skjemaet er ferdigstilt og kan bare leses."))
        return redirect("questionnaires:response", response_id=response.pk)
    definition = _definition(response)
    course = response.course
    context: dict[str, Any] = {
        "response": response,
        "course": course,
        "patient": course.patient,
        "returned": form_services.latest_return(response),
    }
    if request.method == "GET":
        _audit_view(request, response, "nnrr.form.opened")
        shown = dict(response.answers)
        form = bind(definition, shown, warnings=diagnosis_checks(definition, shown))
        return render(request, "questionnaires/fill.html", {**context, "form": form})

    now = timezone.now()
    parsed = parse_submission(definition, request.POST, previous=response.answers)
    parsed.errors.update(
        check_visit_date(parsed.answers, referral_date=course.referral_date, today=oslo_date(now))
    )
    if "S1b_DateOfCompletion" in parsed.errors:
        parsed.answers.pop("S1b_DateOfCompletion", None)
    expected = _version(request)
    action = request.POST.get("action", "save")
    # "Ferdigstill likevel" confirms the answers the warning was shown for, and only those: the
    # button posts the form as it is on screen with a signed digest of the warned answers. Any
    # change since (Diagnose 1 corrected to M54.5) voids the confirmation, and the answers on
    # screen go through an ordinary Ferdigstill instead.
    confirmed = False
    confirmation_void = False
    if action == "complete_confirmed":
        confirmed = confirmation_holds(
            request.POST.get("warned", ""), response=response, answers=parsed.answers
        )
        confirmation_void = not confirmed
        action = "complete"
    missing = missing_for_completion(definition, parsed.answers) if action == "complete" else []
    confirm_unrelated = None
    try:
        if action == "complete" and parsed.ok:
            try:
                scheduling.complete_clinician_form(
                    actor=Actor.from_request(request),
                    response=response,
                    answers=parsed.answers,
                    expected_version=expected,
                    now=now,
                    confirm_not_neck_back=confirmed,
                )
            except CompletionRefused as refused:
                missing = refused.check.missing
                parsed.errors.update(refused.check.errors)
                if not missing and not refused.check.errors:
                    confirm_unrelated = refused.check.unrelated_first
            else:
                messages.success(
                    request, _("Behandlerskjema er ferdigstilt og lagret i registeret.")
                )
                if confirmed:
                    messages.warning(
                        request,
                        _(
                            "Diagnose 1 er ikke nakke- eller ryggrelatert. Meld fra til lokal "
                            "registeransvarlig, slik at pasienten slettes fra registeret og "
                            "fjernes fra dekningsgradsberegningen."
                        ),
                    )
                return redirect("patients:detail", patient_id=course.patient_id)
        response = form_services.save_draft(
            actor=Actor.from_request(request),
            response=response,
            answers=parsed.answers,
            expected_version=expected,
            now=now,
        )
    except ConflictError:
        form = bind(
            definition,
            parsed.answers,
            errors=parsed.errors,
            warnings=parsed.warnings,
            raw={k: request.POST.get(k) for k in request.POST},
        )
        return render(
            request,
            "questionnaires/fill.html",
            {**context, "form": form, "conflict": True},
            status=409,
        )
    if action == "save" and parsed.ok:
        messages.success(request, _("Skjemaet er lagret i kladd."))
        for message in parsed.warnings.values():
            messages.warning(request, message)
        return redirect("patients:detail", patient_id=course.patient_id)
    form = bind(
        definition,
        parsed.answers,
        errors=parsed.errors,
        warnings=parsed.warnings,
        raw={k: request.POST.get(k) for k in request.POST},
    )
    return render(
        request,
        "questionnaires/fill.html",
        {
            **context,
            "response": response,
            "form": form,
            "missing": missing,
            "invalid": parsed.errors,
            "tried_complete": action == "complete" and confirm_unrelated is None,
            "confirm_unrelated": confirm_unrelated,
            "warned": (
                confirmation_token(response=response, answers=parsed.answers)
                if confirm_unrelated is not None
                else ""
            ),
            "confirmation_void": confirmation_void,
        },
        status=200,
    )


@profile_required(Right.FORMS)
@require_POST
def autosave(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    """The Behandlerskjema saved as the user types (htmx, debounced): the answers on screen go
    to the draft, and the page shows "Lagret kl. 10:42" and gets the draft's new version. An
    answer that is not valid is left out and named; nothing is saved over someone else's save."""
    response = access.access_response(request, response_id)
    if response.kind != FormKind.CLINICIAN:
        raise Http404
    context: dict[str, Any] = {"response": response}
    if not response.is_editable:
        return _autosave_status(request, {**context, "state": "completed"})
    definition = _definition(response)
    now = timezone.now()
    parsed = parse_submission(definition, request.POST, previous=response.answers)
    parsed.errors.update(
        check_visit_date(
            parsed.answers, referral_date=response.course.referral_date, today=oslo_date(now)
        )
    )
    if "S1b_DateOfCompletion" in parsed.errors:
        parsed.answers.pop("S1b_DateOfCompletion", None)
    if parsed.answers != response.answers:
        try:
            response = form_services.save_draft(
                actor=Actor.from_request(request),
                response=response,
                answers=parsed.answers,
                expected_version=_version(request),
                now=now,
            )
        except ConflictError:
            return _autosave_status(request, {**context, "state": "conflict"})
    elif _version(request) != response.version:
        return _autosave_status(request, {**context, "state": "conflict"})
    labels = [
        label for _anchor, label, _error in bind(definition, {}, errors=parsed.errors).error_links
    ]
    return _autosave_status(
        request,
        {
            "response": response,
            "state": "saved",
            "saved_at": timezone.localtime(response.last_update or now),
            "not_saved": labels,
        },
    )


def _autosave_status(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    page = render(request, "questionnaires/_autosave_status.html", context)
    page["X-NNRR-Autosave"] = context["state"]
    return page


def _version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return -1


CONFIRMATION_SALT = "nnrr.questionnaires.confirm_not_neck_back"
CONFIRMATION_MAX_AGE = 12 * 60 * 60  # a warning left open over a working day is shown anew


def _answers_digest(answers: Mapping[str, Any]) -> str:
    canonical = json.dumps(answers, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def confirmation_token(*, response: Response, answers: Mapping[str, Any]) -> str:
    """What «Ferdigstill likevel» posts back: the form and a digest of the answers warned about,
    signed so it cannot be made up or moved to another form."""
    return signing.dumps(
        {"response": str(response.pk), "answers": _answers_digest(answers)},
        salt=CONFIRMATION_SALT,
    )


def confirmation_holds(token: str, *, response: Response, answers: Mapping[str, Any]) -> bool:
    """The confirmation was given for exactly these answers of this form."""
    try:
        warned = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:  # also an expired one
        return False
    return (
        isinstance(warned, dict)
        and warned.get("response") == str(response.pk)
        and warned.get("answers") == _answers_digest(answers)
    )


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def return_form(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    """A Lokal registeransvarlig returns a completed Behandlerskjema to draft, with a reason."""
    if not access.active_profile(request).has(Right.RETURN_FORMS):
        raise PermissionDenied(
            _("Bare lokal registeransvarlig kan returnere et ferdigstilt skjema.")
        )
    response = access.access_response(request, response_id)
    error = ""
    if request.method == "POST":
        try:
            form_services.return_to_draft(
                actor=Actor.from_request(request),
                response=response,
                reason=request.POST.get("reason", ""),
                now=timezone.now(),
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(request, _("Skjemaet er returnert og kan rettes."))
            return redirect("questionnaires:response", response_id=response.pk)
    _audit_view(request, response, "nnrr.form.return_opened")
    return render(
        request,
        "questionnaires/return.html",
        {"response": response, "patient": response.course.patient, "error": error},
    )


@profile_required(Right.FORMS)
def journal(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    """ "Journalnotat": the summary as plain text with "Kopier til utklippstavle"."""
    response = access.access_response(request, response_id)
    if not response.is_patient_form or response.status != FormStatus.FERDIGSTILT:
        raise Http404
    definition = _definition(response)
    text = journal_note(response, definition, build_summary(response, definition))
    _audit_view(request, response, "nnrr.form.journal_note_viewed")
    return render(
        request,
        "questionnaires/journal.html",
        {"response": response, "patient": response.course.patient, "note": text},
    )


@profile_required(Right.FORMS)
@require_http_methods(["GET", "POST"])
def paper_form(request: HttpRequest, course_id: uuid.UUID, kind: str) -> HttpResponse:
    """Staff key in a patient form answered on paper, through the same renderer."""
    course = access.access_course(request, course_id)
    if kind not in PATIENT_FORM_KINDS:
        raise Http404
    definition = get_definition(kind)
    context: dict[str, Any] = {
        "course": course,
        "patient": course.patient,
        "definition": definition,
        "kind": kind,
    }
    baseline = form_services.baseline_answers(course, kind)
    if request.method == "GET":
        context["form"] = bind(definition, baseline)
        try:
            form_services.check_patient_form_allowed(
                course=course, kind=kind, consent=True if kind == FormKind.PRE_TREATMENT else None
            )
        except ValidationError as exc:
            context["error"] = " ".join(exc.messages)
        _audit_paper(request, course, kind)
        return render(request, "questionnaires/paper.html", context)
    parsed = parse_submission(definition, request.POST, previous=baseline)
    consent = request.POST.get("consent") == "1" if kind == FormKind.PRE_TREATMENT else None
    raw = {k: request.POST.get(k) for k in request.POST}
    if not parsed.ok:
        context.update(
            form=bind(definition, parsed.answers, errors=parsed.errors, raw=raw),
            consent=consent,
            invalid=parsed.errors,
        )
        _audit_paper(request, course, kind)
        return render(request, "questionnaires/paper.html", context)
    if kind == FormKind.PRE_TREATMENT and not consent:
        context.update(form=bind(definition, parsed.answers, raw=raw), consent_error=True)
        _audit_paper(request, course, kind)
        return render(request, "questionnaires/paper.html", context)
    try:
        response = scheduling.submit_patient_form(
            actor=Actor.from_request(request),
            course=course,
            kind=kind,
            answers=parsed.answers,
            consent=consent,
            source=Source.PAPER,
            now=timezone.now(),
        )
    except ValidationError as exc:
        context.update(form=bind(definition, parsed.answers, raw=raw), error=" ".join(exc.messages))
        _audit_paper(request, course, kind)
        return render(request, "questionnaires/paper.html", context)
    messages.success(request, _("Papirskjemaet er registrert."))
    return redirect("questionnaires:response", response_id=response.pk)


def _audit_paper(request: HttpRequest, course: Course, kind: str) -> None:
    access.audit_view(
        request,
        "nnrr.form.paper_opened",
        patient_id=course.patient_id,
        obj=course,
        detail={"kind": kind},
    )


# --- Diagnosis picker partials ---------------------------------------------------------------


@profile_required(Right.FORMS)
@require_GET
def diagnosis_search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    results = diagnoses.search(query) if query else []
    return render(
        request,
        "questionnaires/_diagnosis_results.html",
        {"results": results, "query": query, "target": _target(request)},
    )


@profile_required(Right.FORMS)
@require_GET
def diagnosis_groups(request: HttpRequest) -> HttpResponse:
    locations = [
        (
            location.key,
            {"neck": _("Nakke"), "back": _("Rygg")}[location.key],
            diagnoses.groups_for(location.key),
        )
        for location in diagnoses.locations()
    ]
    return render(
        request,
        "questionnaires/_diagnosis_groups.html",
        {"locations": locations, "target": _target(request)},
    )


@profile_required(Right.FORMS)
@require_GET
def diagnosis_group(request: HttpRequest, number: int) -> HttpResponse:
    try:
        results = diagnoses.codes_in_group(number)
    except (KeyError, ValueError, LookupError) as exc:
        raise Http404 from exc
    return render(
        request,
        "questionnaires/_diagnosis_results.html",
        # Every code of the group: the neoplasm groups hold about 500, and a code cut from the
        # list could only be found by search.
        {"results": results, "query": str(number), "target": _target(request)},
    )


def _target(request: HttpRequest) -> str:
    target = request.GET.get("target", "")
    return target if target.isidentifier() else ""


@profile_required(Right.FORMS)
@require_GET
def diagnosis_check(request: HttpRequest) -> HttpResponse:
    """The name, group and neck/back warning of a code typed or picked in the Behandlerskjema,
    shown at once (htmx) under the code field."""
    target = _target(request)
    raw = request.GET.get(target, "")[:20] if target else ""
    digits = "".join(ch for ch in target if ch.isdigit())
    position = int(digits) if digits and int(digits) in diagnoses.POSITIONS else 1
    context: dict[str, Any] = {"target": target, "position": position}
    if raw.strip():
        try:
            diagnosis = diagnoses.validate_code(raw)
        except diagnoses.InvalidDiagnosis as exc:
            context["error"] = str(exc)
        else:
            group = diagnoses.group_of(
                diagnosis.code, position=position, picked=request.GET.get(f"{target}Type")
            )
            context.update(
                type_value=group,
                type_choices=diagnoses.type_choices(diagnosis, position=position),
                diagnosis=diagnosis,
                group_label=diagnoses.group_label(group) if position <= 3 else "",
                warning=(
                    diagnoses.not_neck_back_warning()
                    if position == 1 and not diagnosis.neck_back_related
                    else ""
                ),
            )
    return render(request, "questionnaires/_diagnosis_check.html", context)


# --- Paper forms printed by the system ---------------------------------------------------------


def _pdf(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@profile_required(Right.FORMS)
@require_GET
def paper_print(request: HttpRequest, course_id: uuid.UUID, kind: str) -> HttpResponse:
    """ "Skriv ut papirskjema": the form as PDF with the patient's name, fødselsnummer and the
    course on every page header (audited: it shows patient data)."""
    course = access.access_course(request, course_id)
    if kind not in PATIENT_FORM_KINDS:
        raise Http404
    definition = get_definition(kind)
    patient = course.patient
    header = PaperHeader(
        patient_name=patient.name,
        national_id=patient.national_id_formatted,
        course=_("henvist %(referral)s, planlagt konsultasjon %(planned)s")
        % {
            "referral": course.referral_date.strftime("%d.%m.%Y"),
            "planned": course.planned_consultation_date.strftime("%d.%m.%Y"),
        },
        unit=course.unit.name,
    )
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.form.paper_printed",
        patient_id=patient.pk,
        obj=course,
        detail={"kind": kind, "version": definition.version},
    )
    pdf = render_paper_pdf(
        definition,
        header=header,
        baseline=form_services.baseline_answers(course, kind),
        printed=oslo_date(timezone.now()),
    )
    return _pdf(pdf, f"papirskjema-{kind}.pdf")


@profile_required(Right.FORMS)
@require_GET
def paper_blank(request: HttpRequest, kind: str) -> HttpResponse:
    """A blank paper form for the clinic's stock and for patients who decline the registry (the
    equal offer: their answers stay in the clinic)."""
    if kind not in PATIENT_FORM_KINDS:
        raise Http404
    definition = get_definition(kind)
    pdf = render_paper_pdf(definition, header=PaperHeader(), printed=oslo_date(timezone.now()))
    return _pdf(pdf, f"blankt-papirskjema-{kind}.pdf")
