"""The access function for the consent log, which used to query its model directly
(docs/decisions/0003). The Logg's are in nnrr/administration/log_access.py."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.utils import timezone

from nnrr import access
from nnrr.accounts.models import Role
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.models import AuditEvent
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.scheduling import services as scheduling
from tests.conftest import (
    HAUKELAND,
    ST_OLAVS,
    book,
    make_patient,
    profile_request,
)


def profile(persona: Any, key: str) -> Profile:
    return Profile.from_membership(persona(key).membership)


def test_the_consent_log_of_a_unit_holds_only_its_own_entries(persona: Any) -> None:
    for key, unit in (("clinician", ST_OLAVS), ("haukeland_clinician", HAUKELAND)):
        who = persona(key)
        patient = make_patient(unit, name=f"Logg {unit}")
        book(who, patient)
        scheduling.withdraw_consent(
            actor=who.actor, patient=patient, reason="Nei", now=timezone.now()
        )
    mine = access.consent_log_page(profile(persona, "clinician"), offset=0, limit=50)
    assert [entry["name"] for entry in mine] == [f"Logg {ST_OLAVS}"]


def test_require_right_refuses_a_role_without_the_right(persona: Any) -> None:
    with pytest.raises(PermissionDenied):
        access.require_right(profile_request(persona, "report_reader"), Right.FORMS)


def test_require_right_gives_the_profile_to_a_role_with_the_right(persona: Any) -> None:
    request = profile_request(persona, "clinician")
    profile = access.require_right(request, Right.FORMS)
    assert profile is request.profile
    assert profile.role == Role.PASIENTANSVARLIG


def test_require_right_without_a_chosen_profile_is_refused(db: Any) -> None:
    request = RequestFactory().get("/")
    with pytest.raises(PermissionDenied):
        access.require_right(request, Right.FORMS)


def test_access_patient_refuses_a_role_without_form_rights_even_for_its_own_unit(
    persona: Any,
) -> None:
    """The right is checked by access itself, not only by the view's decorator."""
    patient = make_patient(ST_OLAVS)
    with pytest.raises(PermissionDenied):
        access.access_patient(profile_request(persona, "report_reader"), patient.pk)


def test_access_patient_hides_another_units_patient_and_logs_the_attempt(persona: Any) -> None:
    from django.http import Http404

    patient = make_patient(HAUKELAND)
    with pytest.raises(Http404):
        access.access_patient(profile_request(persona, "clinician"), patient.pk)
    event = AuditEvent.objects.get(action="nnrr.patient.access_denied")
    assert event.object_id == str(patient.pk)
    assert event.outcome == "denied"


def test_another_units_order_is_not_found_and_the_attempt_names_an_order(persona: Any) -> None:
    from django.http import Http404

    from nnrr.scheduling.models import Order

    course = book(persona("haukeland_clinician"), make_patient(HAUKELAND))
    order = Order.objects.filter(course=course).first()
    assert order is not None
    with pytest.raises(Http404):
        access.access_order(profile_request(persona, "clinician"), order.pk)
    event = AuditEvent.objects.get(action="nnrr.order.access_denied")
    assert (event.object_type, event.object_id) == ("order", str(order.pk))


def test_a_deleted_form_is_not_found_even_at_its_own_unit(persona: Any) -> None:
    from django.http import Http404

    clinician = persona("clinician")
    course = book(clinician, make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    request = profile_request(persona, "clinician")
    assert access.access_response(request, form.pk) == form
    Response.objects.filter(pk=form.pk).update(status=FormStatus.SLETTET)
    with pytest.raises(Http404):
        access.access_response(request, form.pk)
    event = AuditEvent.objects.get(action="nnrr.response.access_denied")
    assert event.object_type == "response"


def test_access_course_of_a_deleted_course_is_not_found(persona: Any) -> None:
    from django.http import Http404

    clerk = persona("clerk")
    course = book(clerk, make_patient(ST_OLAVS))
    scheduling.delete_course(actor=clerk.actor, course=course, reason="x", now=timezone.now())
    request = profile_request(persona, "clerk")
    with pytest.raises(Http404):
        access.access_course(request, course.pk)
    event = AuditEvent.objects.get(action="nnrr.course.access_denied")
    assert (event.object_type, event.object_id) == ("course", str(course.pk))
    assert access.access_course(request, course.pk, active=False).pk == course.pk


def test_a_page_view_is_logged_on_the_patients_access_log(persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    access.audit_view(
        profile_request(persona, "clinician"),
        "nnrr.patient.viewed",
        patient_id=patient.pk,
        obj=patient,
        detail={"page": "detail"},
    )
    event = AuditEvent.objects.get(action="nnrr.patient.viewed")
    assert event.patient_id == patient.pk
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient.pk))
    assert event.detail == {"page": "detail"}
