"""The FHIR R4 REST API under ``/fhir/`` (docs/fhir.md).

Questionnaires and the CapabilityStatement hold no patient data and are open. Everything else
needs a machine client's bearer token (:mod:`nnrr.api.auth`) with the resource type's scope; a
client sees only its unit's records, and another unit's id answers 404 exactly like an unknown
one. Every read writes an audit event per patient record shown, as the client.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from nnrr import access
from nnrr.api import journal, services
from nnrr.api.auth import MachineIdentity, machine_client
from nnrr.api.models import SCOPES, WRITE_RESPONSES
from nnrr.api.outcome import FHIR_JSON, FhirError, issue
from nnrr.api.questionnaire import (
    build_questionnaire,
    parse_questionnaire_id,
    questionnaire_url,
)
from nnrr.api.resources import (
    QuestionnaireCache,
    bundle,
    capability_statement,
    patient_resource,
    response_resource,
)
from nnrr.audit.models import AuditEvent, Outcome
from nnrr.audit.services import record_event
from nnrr.lib.dates import OSLO
from nnrr.patients.models import Patient
from nnrr.questionnaires.definitions import all_definitions, get_definition
from nnrr.questionnaires.models import PATIENT_FORM_KINDS, Response

MAX_PAGE = 100
# Answered like a missing id, for an id of another unit too.
NOT_FOUND_KINDS = {
    "Patient": "patient",
    "QuestionnaireResponse": "response",
    "DocumentReference": "journal_note",
    "Binary": "journal_note",
}


def _json(data: dict[str, Any], status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, content_type=FHIR_JSON)


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri("/fhir").rstrip("/")


def _machine(request: HttpRequest) -> MachineIdentity:
    return request.machine  # type: ignore[attr-defined]


def _not_found(request: HttpRequest, resource: str, object_id: object) -> JsonResponse:
    identity = getattr(request, "machine", None)
    if identity is not None:
        record_event(
            actor=identity.actor(request),
            action=f"nnrr.fhir.{NOT_FOUND_KINDS.get(resource, 'resource')}.access_denied",
            object_type=resource,
            object_id=str(object_id),
            outcome=Outcome.DENIED,
        )
    return FhirError(
        404,
        [
            issue(
                lambda: (
                    _("%(type)s/%(id)s finnes ikke, eller tilhører en annen enhet.")
                    % {"type": resource, "id": object_id}
                ),
                "not-found",
            )
        ],
    ).response()


def _audit_reads(request: HttpRequest, action: str, rows: list[tuple[uuid.UUID, str, str]]) -> None:
    """One event per record shown (patient, type, id), written in one statement."""
    actor = _machine(request).actor(request)
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=now,
                actor=None,
                actor_name=actor.name[:200],
                role=actor.role,
                unit_id=actor.unit_id,
                action=action,
                outcome=Outcome.OK,
                patient_id=patient_id,
                object_type=object_type,
                object_id=object_id[:64],
                client_address=actor.client_address,
                detail={"via": "fhir"},
            )
            for patient_id, object_type, object_id in rows
        ]
    )


def _bad_request(message: Any) -> JsonResponse:
    return FhirError(400, [issue(message, "invalid")]).response()


# --- Open resources -------------------------------------------------------------------------


@require_GET
def metadata(request: HttpRequest) -> JsonResponse:
    return _json(capability_statement(_base(request)))


@require_GET
def questionnaire_search(request: HttpRequest) -> JsonResponse:
    entries = [build_questionnaire(d) for d in all_definitions()]
    url = request.GET.get("url")
    if url:
        entries = [q for q in entries if q["url"] == url.partition("|")[0]]
    base = _base(request)
    return _json(bundle(entries, base=base, self_url=request.build_absolute_uri()))


@require_GET
def questionnaire_read(request: HttpRequest, questionnaire_id: str) -> JsonResponse:
    parsed = parse_questionnaire_id(questionnaire_id)
    try:
        definition = get_definition(*parsed) if parsed else None
    except LookupError:
        definition = None
    if definition is None:
        return _not_found(request, "Questionnaire", questionnaire_id)
    return _json(build_questionnaire(definition))


# --- QuestionnaireResponse ------------------------------------------------------------------


def _visible_responses(identity: MachineIdentity) -> QuerySet[Response]:
    return access.responses_for_machine_client(identity.unit_id).select_related(
        "course__patient", "order"
    )


def _date_bound(raw: str) -> tuple[str, dt.datetime] | None:
    """``ge2024-01-01`` → ("ge", the start of that day in Oslo); None when malformed."""
    prefix, value = (raw[:2], raw[2:]) if raw[:2] in {"ge", "gt", "le", "lt", "eq"} else ("eq", raw)
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    if len(value) != 10:
        return None
    return prefix, dt.datetime.combine(day, dt.time.min, tzinfo=OSLO)


SEARCH_PARAMS = {
    "patient.identifier",
    "subject",
    "patient",
    "authored",
    "date",
    "questionnaire",
    "_count",
    "_cursor",
    "_format",
}


def _filter_responses(request: HttpRequest, queryset: QuerySet[Response]) -> QuerySet[Response]:
    """The search parameters as filters; :class:`FhirError` (400) for one we cannot read."""
    unknown = sorted(set(request.GET) - SEARCH_PARAMS)
    if unknown:
        raise FhirError(
            400,
            [
                issue(
                    lambda: _("Ukjent søkeparameter: %(names)s.") % {"names": ", ".join(unknown)},
                    "not-supported",
                )
            ],
        )
    for raw in request.GET.getlist("patient.identifier"):
        queryset = queryset.filter(course__patient__national_id=raw.rpartition("|")[2].strip())
    for raw in request.GET.getlist("subject") + request.GET.getlist("patient"):
        try:
            patient_id = uuid.UUID(raw.removeprefix("Patient/"))
        except ValueError:
            raise FhirError(
                400,
                [issue(lambda: _("subject må være Patient/<id>."), "invalid")],
            ) from None
        queryset = queryset.filter(course__patient_id=patient_id)
    # ``authored`` on QuestionnaireResponse, ``date`` on DocumentReference: the form's date.
    for raw in request.GET.getlist("authored") + request.GET.getlist("date"):
        bound = _date_bound(raw)
        if bound is None:
            raise FhirError(
                400,
                [
                    issue(
                        lambda: _(
                            "authored må være en dato (ÅÅÅÅ-MM-DD) med ge, gt, le, lt eller eq."
                        ),
                        "invalid",
                    )
                ],
            )
        prefix, start = bound
        end = start + dt.timedelta(days=1)
        queryset = queryset.filter(
            **{
                "ge": {"completed_at__gte": start},
                "gt": {"completed_at__gte": end},
                "le": {"completed_at__lt": end},
                "lt": {"completed_at__lt": start},
                "eq": {"completed_at__gte": start, "completed_at__lt": end},
            }[prefix]
        )
    for raw in request.GET.getlist("questionnaire"):
        url, _bar, version = raw.partition("|")
        tail = parse_questionnaire_id(url.rsplit("/", 1)[-1])
        forms = [d.form for d in all_definitions() if questionnaire_url(d.form) == url]
        if tail is not None:
            forms, version = [tail[0]], tail[1]
        if not forms:
            raise FhirError(
                400,
                [issue(lambda: _("Ukjent skjema i questionnaire-parameteren."), "invalid")],
            )
        queryset = queryset.filter(kind__in=forms)
        if version:
            queryset = queryset.filter(definition_version=version)
    return queryset


def _page(
    request: HttpRequest, queryset: QuerySet[Response], resource: str = "QuestionnaireResponse"
) -> tuple[list[Response], str]:
    """One page in (completed_at, id) order from the cursor on, and the next page's URL."""
    try:
        count = min(MAX_PAGE, max(1, int(request.GET.get("_count") or settings.FHIR_PAGE_SIZE)))
    except ValueError:
        raise FhirError(
            400, [issue(lambda: _("_count må være et helt tall."), "invalid")]
        ) from None
    cursor = request.GET.get("_cursor", "")
    if cursor:
        at_raw, _sep, id_raw = cursor.partition("_")
        try:
            at = dt.datetime.fromisoformat(at_raw)
            after_id = uuid.UUID(id_raw)
        except ValueError:
            raise FhirError(
                400, [issue(lambda: _("Ugyldig sidepeker (_cursor)."), "invalid")]
            ) from None
        queryset = queryset.filter(Q(completed_at__gt=at) | Q(completed_at=at, pk__gt=after_id))
    rows = list(queryset.order_by("completed_at", "pk")[: count + 1])
    next_url = ""
    if len(rows) > count:
        rows = rows[:count]
        last = rows[-1]
        assert last.completed_at is not None
        params = [(k, v) for k, values in request.GET.lists() if k != "_cursor" for v in values]
        params.append(("_cursor", f"{last.completed_at.isoformat()}_{last.pk}"))
        next_url = f"{_base(request)}/{resource}?{urlencode(params)}"
    return rows, next_url


@csrf_exempt
@require_http_methods(["GET", "POST"])
def questionnaire_responses(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _create_response(request)
    return _search_responses(request)


def _search(
    request: HttpRequest,
    queryset: QuerySet[Response],
    *,
    resource: str,
    action: str,
    render: Callable[[Response], dict[str, Any]],
) -> JsonResponse:
    """A search over the client's forms: filtered, one page, each form shown audited, a Bundle."""
    try:
        rows, next_url = _page(request, _filter_responses(request, queryset), resource)
    except FhirError as exc:
        return exc.response()
    _audit_reads(request, action, [(r.course.patient_id, resource, str(r.pk)) for r in rows])
    return _json(
        bundle(
            [render(r) for r in rows],
            base=_base(request),
            self_url=request.build_absolute_uri(),
            next_url=next_url,
        )
    )


def _read(
    request: HttpRequest,
    queryset: QuerySet[Any],
    object_id: object,
    *,
    resource: str,
    action: str,
    render: Callable[[Any], HttpResponse],
    shown_as: str = "",
    asked_for: str = "",
) -> HttpResponse:
    """One record the client may see, its reading audited; 404 (audited, naming the id asked for)
    for any other id."""
    found = queryset.filter(pk=object_id).first()
    if found is None:
        return _not_found(request, resource, asked_for or object_id)
    patient_id = found.pk if isinstance(found, Patient) else found.course.patient_id
    _audit_reads(request, action, [(patient_id, shown_as or resource, str(found.pk))])
    return render(found)


@machine_client(SCOPES["QuestionnaireResponse"])
def _search_responses(request: HttpRequest) -> JsonResponse:
    cache = QuestionnaireCache()
    return _search(
        request,
        _visible_responses(_machine(request)),
        resource="QuestionnaireResponse",
        action="nnrr.fhir.response_read",
        render=lambda found: response_resource(found, cache),
    )


@machine_client(WRITE_RESPONSES)
def _create_response(request: HttpRequest) -> JsonResponse:
    identity = _machine(request)
    actor = identity.actor(request)
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        data = None
    try:
        if data is None:
            raise FhirError(400, [issue(lambda: _("Innholdet er ikke gyldig JSON."), "structure")])
        stored = services.import_response(
            actor=actor, data=data, now=timezone.now(), unit_id=identity.unit_id
        )
    except FhirError as exc:
        services.record_refusal(actor=actor, data=data, error=exc)
        return exc.response()
    stored = _visible_responses(identity).filter(pk=stored.pk).first() or stored
    resource = response_resource(stored, QuestionnaireCache())
    response = _json(resource, status=201)
    response["Location"] = f"{_base(request)}/QuestionnaireResponse/{stored.pk}"
    return response


@require_GET
@machine_client(SCOPES["QuestionnaireResponse"])
def questionnaire_response_read(request: HttpRequest, response_id: uuid.UUID) -> HttpResponse:
    return _read(
        request,
        _visible_responses(_machine(request)),
        response_id,
        resource="QuestionnaireResponse",
        action="nnrr.fhir.response_read",
        render=lambda found: _json(response_resource(found, QuestionnaireCache())),
    )


# --- DocumentReference: the journal note ------------------------------------------------------


def _notes(identity: MachineIdentity) -> QuerySet[Response]:
    return _visible_responses(identity).filter(kind__in=PATIENT_FORM_KINDS)


@require_GET
@machine_client(SCOPES["DocumentReference"])
def document_search(request: HttpRequest) -> JsonResponse:
    base = _base(request)
    return _search(
        request,
        _notes(_machine(request)),
        resource="DocumentReference",
        action="nnrr.fhir.journal_note_read",
        render=lambda found: journal.document_reference(found, base),
    )


@require_GET
@machine_client(SCOPES["DocumentReference"])
def document_read(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    return _read(
        request,
        _notes(_machine(request)),
        document_id,
        resource="DocumentReference",
        action="nnrr.fhir.journal_note_read",
        render=lambda found: _json(journal.document_reference(found, _base(request))),
    )


def _pdf(found: Response, binary_id: str) -> HttpResponse:
    response = HttpResponse(journal.note_pdf(found), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{binary_id}.pdf"'
    return response


@require_GET
@machine_client(SCOPES["DocumentReference"])
def binary_read(request: HttpRequest, binary_id: str) -> HttpResponse:
    """The journal note as PDF (``Binary/journalnotat-<form id>``)."""
    try:
        if not binary_id.startswith(journal.BINARY_PREFIX):
            raise ValueError(binary_id)
        document_id = uuid.UUID(binary_id.removeprefix(journal.BINARY_PREFIX))
    except ValueError:
        return _not_found(request, "Binary", binary_id)
    return _read(
        request,
        _notes(_machine(request)),
        document_id,
        resource="Binary",
        action="nnrr.fhir.journal_pdf_read",
        render=lambda found: _pdf(found, binary_id),
        shown_as="DocumentReference",
        asked_for=binary_id,
    )


# --- Patient --------------------------------------------------------------------------------


def _patients(identity: MachineIdentity) -> QuerySet[Patient]:
    return access.patients_for_machine_client(identity.unit_id).select_related("unit")


@require_GET
@machine_client(SCOPES["Patient"])
def patient_search(request: HttpRequest) -> JsonResponse:
    unknown = sorted(set(request.GET) - {"identifier", "_format"})
    values = [v.rpartition("|")[2].strip() for v in request.GET.getlist("identifier")]
    if unknown or not values:
        return _bad_request(
            lambda: _(
                "Søk etter pasient med identifier=<fødselsnummer> (og ingen andre parametre)."
            )
        )
    rows = list(_patients(_machine(request)).filter(national_id__in=values)[:MAX_PAGE])
    _audit_reads(request, "nnrr.fhir.patient_read", [(p.pk, "Patient", str(p.pk)) for p in rows])
    return _json(
        bundle(
            [patient_resource(p) for p in rows],
            base=_base(request),
            self_url=request.build_absolute_uri(),
        )
    )


@require_GET
@machine_client(SCOPES["Patient"])
def patient_read(request: HttpRequest, patient_id: uuid.UUID) -> HttpResponse:
    return _read(
        request,
        _patients(_machine(request)),
        patient_id,
        resource="Patient",
        action="nnrr.fhir.patient_read",
        render=lambda found: _json(patient_resource(found)),
    )


def not_found_view(request: HttpRequest, rest: str) -> JsonResponse:
    """Any other path under /fhir/: an OperationOutcome, not an HTML page."""
    return FhirError(
        404,
        [issue(lambda: _("Ukjent FHIR-ressurs eller operasjon."), "not-supported")],
    ).response()
