"""The one way in to patient data.

Views reach patients, courses, forms and orders only through these functions, always through the
request's active profile (role + unit). An object of another unit answers 404 exactly like one
that does not exist, and the attempt is logged. Roles without form rights are refused before any
lookup. See docs/decisions/0003-one-access-module.md.

The unit filter itself is not written here: each query set is built in the profile's unit scope
(``nnrr.lib.scopes``, docs/decisions/0024), whose managers filter every patient-data model to the
profile's unit (every unit for a national profile). Built in the scope, a query set keeps its
filter wherever it is used.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from nnrr.accounts.profiles import Profile, Right
from nnrr.appointments.models import InboundMessage
from nnrr.audit.context import Actor
from nnrr.audit.services import not_found, record_event
from nnrr.lib.scopes import unit_scope
from nnrr.patients.models import Course, Patient
from nnrr.questionnaires.models import FormKind, FormStatus, Response, course_unfinished
from nnrr.scheduling import reads as patient_reads
from nnrr.scheduling.models import Order
from nnrr.worklists import reads as worklist_reads

if TYPE_CHECKING:
    from django.db.models import Model


def active_profile(request: HttpRequest) -> Profile:
    profile: Profile | None = getattr(request, "profile", None)
    if profile is None:
        raise PermissionDenied(_("Velg en profil først."))
    return profile


def require_right(request: HttpRequest, right: Right) -> Profile:
    """The active profile, if it holds ``right``; otherwise 403."""
    profile = active_profile(request)
    if not profile.has(right):
        raise PermissionDenied(_("Din rolle gir ikke tilgang til denne funksjonen."))
    return profile


def audit_view(
    request: HttpRequest,
    action: str,
    *,
    patient_id: uuid.UUID | None,
    obj: Model | None = None,
    detail: dict[str, object] | None = None,
) -> None:
    """The one event of a page that shows a patient's data without changing it."""
    record_event(
        actor=Actor.from_request(request),
        action=action,
        patient_id=patient_id,
        obj=obj,
        detail=detail,
    )


# --- Query sets scoped to the active unit ----------------------------------------------------


def patients_of_unit(profile: Profile) -> QuerySet[Patient]:
    """The unit's own patient records (another unit's record of the same person is not here).
    A national profile's scope is every unit; it holds no form rights to reach them here."""
    with unit_scope(profile):
        return Patient.objects.all()


def courses_of_unit(profile: Profile) -> QuerySet[Course]:
    with unit_scope(profile):
        return Course.objects.all()


def unfinished_courses(profile: Profile) -> QuerySet[Course]:
    """Active courses of the unit whose Behandlerskjema is a draft or returned (the worklists,
    the front page badges and the red dot all count these)."""
    return courses_of_unit(profile).filter(course_unfinished())


def patient_courses(profile: Profile, patient: Patient) -> list[Course]:
    """The patient page's courses at the profile's unit, each with its ``owner``,
    ``shown_forms`` and ``shown_orders`` (``nnrr.scheduling.reads``)."""
    return patient_reads.courses_with_forms(profile.unit.pk, patient.pk)


def worklist_count(
    profile: Profile, *, mine: bool = False, planned_before: dt.date | None = None
) -> int:
    """How many rows ``unfinished_courses`` has (only the profile's own, or only those planned
    before a day, when asked), counted on the worklists' marker."""
    return worklist_reads.count_unfinished(
        profile.unit.pk,
        owner_id=profile.user.pk if mine else None,
        planned_before=planned_before,
    )


def worklist_counts(profile: Profile, *, today: dt.date) -> dict[str, int]:
    """The front page's and the worklists' badges: "mine", "overdue" (planned before
    ``today``) and the whole "unit", in one query on the worklists' marker."""
    return worklist_reads.unfinished_counts(profile.unit.pk, owner_id=profile.user.pk, today=today)


def worklist_page(
    profile: Profile,
    *,
    offset: int,
    limit: int,
    mine: bool = False,
    planned_before: dt.date | None = None,
) -> list[dict[str, Any]]:
    """A page of ``unfinished_courses`` in the worklists' order, as the worklist rows show it
    (``nnrr.worklists.reads.COURSE_COLUMNS``)."""
    return worklist_reads.unfinished_page(
        profile.unit.pk,
        offset=offset,
        limit=limit,
        owner_id=profile.user.pk if mine else None,
        planned_before=planned_before,
    )


def waiting_count(profile: Profile) -> int:
    """How many pre-treatment orders of the unit are open (planned, sent or reminded)."""
    return worklist_reads.count_waiting(profile.unit.pk)


def waiting_page(profile: Profile, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of them, by the course's planned date (``nnrr.worklists.reads.WAITING_COLUMNS``)."""
    return worklist_reads.waiting_page(profile.unit.pk, offset=offset, limit=limit)


def consent_log_page(profile: Profile, *, offset: int, limit: int) -> list[dict[str, Any]]:
    """A page of the unit's part of the statutory log of people touched without (lasting)
    consent, newest first (``nnrr.worklists.reads``)."""
    return worklist_reads.consent_log_page(profile.unit.pk, offset=offset, limit=limit)


def responses_of_unit(profile: Profile) -> QuerySet[Response]:
    with unit_scope(profile):
        return Response.objects.all()


def orders_of_unit(profile: Profile) -> QuerySet[Order]:
    with unit_scope(profile):
        return Order.objects.all()


def received_messages(profile: Profile) -> QuerySet[InboundMessage]:
    """ "Mottatte avtaler": the unit's messages from its booking system; for the national
    secretariat, the messages that name no known unit (no unit's staff can see those)."""
    with unit_scope(profile):
        messages = InboundMessage.objects.all()
    if profile.has(Right.ADMINISTER):
        return messages.filter(unit__isnull=True)
    return messages


# --- Single objects --------------------------------------------------------------------------


def _get(request: HttpRequest, queryset: QuerySet[Model], kind: str, object_id: uuid.UUID) -> Model:
    obj = queryset.filter(pk=object_id).first()
    if obj is None:
        raise not_found(request, kind, object_id)
    return obj


def access_patient(request: HttpRequest, patient_id: uuid.UUID) -> Patient:
    profile = require_right(request, Right.FORMS)
    return _get(request, patients_of_unit(profile), "patient", patient_id)  # type: ignore[return-value]


def find_patient(request: HttpRequest, national_id: str) -> Patient | None:
    """The patient with this national id if registered at the active unit."""
    profile = require_right(request, Right.FORMS)
    return patients_of_unit(profile).filter(national_id=national_id).first()


def search_patient(request: HttpRequest, national_id: str) -> Patient | None:
    """A search by fødselsnummer, audited: the unit's record, or None.

    A number registered only at another unit answers exactly like an unknown one, and its audit
    row is the same too: no patient, only a keyed hash of the number (so the person's access log
    can still show the search) and ``found: false``.
    """
    patient = find_patient(request, national_id)
    if patient is not None:
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.patient.searched",
            patient_id=patient.pk,
            obj=patient,
            detail={"found": True},
        )
    else:
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.patient.searched",
            object_type="national_id_hmac",
            object_id=national_id_digest(national_id),
            detail={"found": False},
        )
    return patient


def registry_records(request: HttpRequest, national_id: str) -> QuerySet[Patient]:
    """Every unit's record of a person: only for the Registeradministrator's registry-wide
    actions (docs/decisions/0013)."""
    profile = require_right(request, Right.ADMINISTER)
    with unit_scope(profile):
        return Patient.objects.filter(national_id=national_id)


def national_id_digest(national_id: str) -> str:
    """A keyed hash of a national id for audit rows that must not hold the number itself."""
    return salted_hmac("nnrr.audit.national_id", national_id, algorithm="sha256").hexdigest()


def access_course(request: HttpRequest, course_id: uuid.UUID, *, active: bool = True) -> Course:
    profile = require_right(request, Right.FORMS)
    queryset = courses_of_unit(profile).select_related("patient", "owner", "unit")
    if active:
        queryset = queryset.filter(status=Course.Status.ACTIVE)
    return _get(request, queryset, "course", course_id)  # type: ignore[return-value]


def access_response(request: HttpRequest, response_id: uuid.UUID) -> Response:
    profile = require_right(request, Right.FORMS)
    queryset = (
        responses_of_unit(profile)
        .exclude(status=FormStatus.SLETTET)
        .select_related("course", "course__patient", "course__owner", "course__unit")
    )
    return _get(request, queryset, "response", response_id)  # type: ignore[return-value]


def access_received_message(request: HttpRequest, message_id: int) -> InboundMessage:
    profile = require_right(request, Right.RECEIVED_APPOINTMENTS)
    message = received_messages(profile).select_related("course", "unit").filter(pk=message_id)
    found = message.first()
    if found is None:
        raise not_found(request, "inbound_message", message_id)
    return found


def access_order(request: HttpRequest, order_id: uuid.UUID) -> Order:
    profile = require_right(request, Right.FORMS)
    queryset = orders_of_unit(profile).select_related("course", "course__patient")
    return _get(request, queryset, "order", order_id)  # type: ignore[return-value]


# --- Machine clients of the FHIR API (nnrr/api) --------------------------------------------
# A record system's client is bound to one unit (nnrr.api.auth); it has no profile, so these
# take the client's unit. It reads completed forms of courses with consent, never drafts.


def patients_for_machine_client(unit_id: int) -> QuerySet[Patient]:
    with unit_scope(units=[unit_id]):
        return Patient.objects.all()


def responses_for_machine_client(unit_id: int) -> QuerySet[Response]:
    """The unit's completed forms of active courses whose pre-treatment form carries consent."""
    with unit_scope(units=[unit_id]):
        consented = Response.objects.filter(
            course=OuterRef("course"),
            kind=FormKind.PRE_TREATMENT,
            status=FormStatus.FERDIGSTILT,
            consent=True,
        )
        return Response.objects.filter(
            course__status=Course.Status.ACTIVE,
            status=FormStatus.FERDIGSTILT,
        ).filter(Exists(consented))
