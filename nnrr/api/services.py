"""A completed form arriving as a FHIR ``QuestionnaireResponse`` (from Helsenorge's form filler,
``POST /fhir/QuestionnaireResponse`` or ``nnrr fhir import FILE``).

The response names the order it answers (``identifier`` or ``basedOn`` with the order's id) and
the patient (``subject.identifier`` = fødselsnummer). It must answer the version of the form the
order is stored under; its items are read into what our portal's pages post and go through the
portal's own parser and the portal's own submit (``nnrr.portal.services.submit``), so the consent
rule, the skip logic, the scores and the order's bookkeeping are exactly the portal's. Anything
wrong is a :class:`FhirError` with an OperationOutcome, and nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from nnrr.api.answers import read_items
from nnrr.api.outcome import FhirError, Issue, issue
from nnrr.api.questionnaire import (
    box_lists,
    build_questionnaire,
    canonical_base,
    parse_questionnaire_id,
    questionnaire_id,
    questionnaire_url,
)
from nnrr.audit.context import Actor
from nnrr.audit.models import Outcome
from nnrr.audit.services import record_event
from nnrr.portal import services as portal
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormStatus, Response, Source
from nnrr.questionnaires.validation import parse_submission
from nnrr.scheduling.models import Order

# Norwegian person identifiers (the Directorate of e-health's OIDs).
NATIONAL_ID_SYSTEMS = {
    "fnr": "urn:oid:2.16.578.1.12.4.1.4.1",
    "dnr": "urn:oid:2.16.578.1.12.4.1.4.2",
    "hnr": "urn:oid:2.16.578.1.12.4.1.4.3",
}
ACCEPTED_STATUSES = {"completed", "in-progress"}


def order_system() -> str:
    """The identifier system of our orders ("ePROM-bestilling")."""
    return f"{canonical_base()}/bestilling"


def _error(status: int, message: Any, code: str = "invalid", link_id: str = "") -> FhirError:
    return FhirError(status, [issue(message, code, link_id)])


def _structure(data: Any) -> None:
    if not isinstance(data, Mapping) or data.get("resourceType") != "QuestionnaireResponse":
        raise _error(
            400, lambda: _("Innholdet er ikke en FHIR QuestionnaireResponse."), "structure"
        )
    # Imported here: the R4B models take a while to build, and only a posted response needs them.
    from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
    from pydantic import ValidationError as ModelError

    try:
        QuestionnaireResponse.model_validate(dict(data))
    except ModelError as exc:
        issues = []
        for error in exc.errors()[:20]:
            where = ".".join(str(part) for part in error["loc"])
            issues.append(
                Issue(
                    nb=f"Ikke en gyldig FHIR R4 QuestionnaireResponse: {where}: {error['msg']}",
                    en=f"Not a valid FHIR R4 QuestionnaireResponse: {where}: {error['msg']}",
                    code="structure",
                )
            )
        raise FhirError(400, issues) from None
    if data.get("status") not in ACCEPTED_STATUSES:
        raise _error(
            422,
            lambda: _("Et skjema kan bare leveres med status «completed» eller «in-progress»."),
            "business-rule",
        )


def _order_id(data: Mapping[str, Any]) -> uuid.UUID | None:
    candidates: list[str] = []
    identifier = data.get("identifier") or {}
    if identifier.get("system") in (None, order_system()) and identifier.get("value"):
        candidates.append(str(identifier["value"]))
    for based_on in data.get("basedOn") or []:
        reference = str(based_on.get("reference") or "")
        if reference.startswith("ServiceRequest/"):
            candidates.append(reference.removeprefix("ServiceRequest/"))
        ident = based_on.get("identifier") or {}
        if ident.get("system") in (None, order_system()) and ident.get("value"):
            candidates.append(str(ident["value"]))
    for candidate in candidates:
        try:
            return uuid.UUID(candidate)
        except ValueError:
            continue
    return None


def _national_id(data: Mapping[str, Any]) -> str:
    identifier = (data.get("subject") or {}).get("identifier") or {}
    if identifier.get("system") not in (None, *NATIONAL_ID_SYSTEMS.values()):
        return ""
    return str(identifier.get("value") or "").replace(" ", "")


def find_order(data: Mapping[str, Any], *, unit_id: int | None) -> Order:
    """The open order the response answers, for the patient it names; one message for "no such
    order", "another patient's" and "another unit's", so nothing is learnt by guessing."""
    order_id = _order_id(data)
    national_id = _national_id(data)
    not_found = _error(
        404,
        lambda: _("Fant ingen bestilling med denne id-en for pasienten med dette fødselsnummeret."),
        "not-found",
    )
    if order_id is None or not national_id:
        raise not_found
    order = (
        Order.objects.select_related("course__patient", "course__unit", "response")
        .filter(pk=order_id)
        .first()
    )
    if (
        order is None
        or order.course.patient.national_id != national_id
        or (unit_id is not None and order.course.unit_id != unit_id)
    ):
        raise not_found
    return order


def _check_open(order: Order, now: dt.datetime) -> None:
    # The one-time code's lockout is about guessing codes; a response from Helsenorge comes from
    # a patient logged in with eID, so only the order's own state and deadline count.
    state = portal.order_state(order, now, ignore_code_lock=True)
    if state == portal.Entry.USED:
        raise _error(
            409,
            lambda: _(
                "Dette skjemaet er allerede levert for forløpet. Ingen opplysninger er lagret."
            ),
            "duplicate",
        )
    if state != portal.Entry.OK:
        raise _error(
            409,
            lambda: _(
                "Bestillingen er lukket (utløpt, kansellert eller ikke sendt ennå). Ingen "
                "opplysninger er lagret."
            ),
            "business-rule",
        )


def _check_questionnaire(data: Mapping[str, Any], order: Order) -> str:
    """The form version the response answers: the version the order's form is stored under."""
    draft = order.response if order.response_id else None
    version = (
        draft.definition_version
        if draft is not None and draft.status == FormStatus.KLADD
        else get_definition(order.kind).version
    )
    expected = questionnaire_url(order.kind)
    raw = str(data.get("questionnaire") or "")
    url, _bar, given_version = raw.partition("|")
    tail = parse_questionnaire_id(url.rsplit("/", 1)[-1])
    answered: tuple[str, str] | None = None
    if url == expected:
        answered = (order.kind, given_version)
    elif tail is not None and f"/{url}".endswith(f"/Questionnaire/{questionnaire_id(*tail)}"):
        answered = tail  # a reference to the resource itself: Questionnaire/nnrr-1a-1.0
    if answered != (order.kind, version):
        wanted = f"{expected}|{version}"
        raise _error(
            422,
            lambda: (
                _("Svaret gjelder feil skjema eller versjon: bestillingen venter %(q)s.")
                % {"q": wanted}
            ),
            "business-rule",
        )
    return version


def _answers(order: Order, version: str, data: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    definition = get_definition(order.kind, version)
    questionnaire = build_questionnaire(definition)
    boxes = box_lists(definition)
    problems_by_language = {}
    read = None
    for language in ("nb", "en"):
        with translation.override(language):
            read = read_items(questionnaire, data.get("item"), boxes=boxes)
            problems_by_language[language] = read.problems
    assert read is not None
    if read.problems:
        raise FhirError(
            422,
            [
                Issue(nb=nb.message, en=en.message, code=nb.code, link_id=nb.link_id)
                for nb, en in zip(
                    problems_by_language["nb"], problems_by_language["en"], strict=True
                )
            ],
        )
    previous = form_services.baseline_answers(order.course, order.kind)
    parsed = {}
    for language in ("nb", "en"):
        with translation.override(language):
            parsed[language] = parse_submission(definition, read.data, previous=previous)
    if not parsed["nb"].ok:
        raise FhirError(
            422,
            [
                Issue(nb=message, en=parsed["en"].errors.get(key, message), link_id=key)
                for key, message in parsed["nb"].errors.items()
            ],
        )
    consent = read.consent is True if definition.consent else None
    return parsed["nb"].answers, bool(consent)


def _english(message: str) -> str:
    with translation.override("en"):
        return _(message)


def import_response(
    *, actor: Actor, data: Any, now: dt.datetime, unit_id: int | None = None
) -> Response:
    """Store a QuestionnaireResponse as the completed form of its order (see the module text).
    ``unit_id`` limits the orders to one unit (a machine client's); the CLI passes None."""
    _structure(data)
    order = find_order(data, unit_id=unit_id)
    _check_open(order, now)
    version = _check_questionnaire(data, order)
    answers, consent = _answers(order, version, data)
    # The consent rule exactly as the portal applies it: a pre-treatment form without consent is
    # refused and nothing is stored (the order stays open; the statutory minimal log is kept by
    # the daily rule for orders without consent).
    try:
        with transaction.atomic():
            form_services.check_patient_form_allowed(
                course=order.course, kind=order.kind, consent=consent if consent else None
            )
            response = portal.submit(
                actor=actor, order=order, answers=answers, now=now, source=Source.HELSENORGE
            )
    except ValidationError as exc:
        raise FhirError(
            422,
            [
                Issue(nb=message, en=_english(message), code="business-rule")
                for message in exc.messages
            ],
        ) from None
    if response is None:
        raise _error(
            409,
            lambda: _(
                "Dette skjemaet er allerede levert for forløpet. Ingen opplysninger er lagret."
            ),
            "duplicate",
        )
    return response


def record_refusal(*, actor: Actor, data: Any, error: FhirError) -> None:
    """Audit a refused response (outside the failed transaction, so the event is kept); the
    detail names the kinds of problem, never an answer."""
    order_id = _order_id(data) if isinstance(data, Mapping) else None
    order = Order.objects.filter(pk=order_id).select_related("course").first() if order_id else None
    record_event(
        actor=actor,
        action="nnrr.fhir.response_refused",
        patient_id=order.course.patient_id if order else None,
        obj=order,
        outcome=Outcome.DENIED,
        detail={"status": error.status, "issues": sorted({i.code for i in error.issues})},
    )
