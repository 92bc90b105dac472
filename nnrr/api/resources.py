"""Our records as FHIR R4 resources: Patient, QuestionnaireResponse, Bundle, CapabilityStatement."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone

from nnrr.api.answers import response_items
from nnrr.api.questionnaire import (
    PUBLISHER,
    box_lists,
    build_questionnaire,
    questionnaire_url,
)
from nnrr.api.services import NATIONAL_ID_SYSTEMS, order_system
from nnrr.patients.models import Patient
from nnrr.questionnaires.definitions import Definition, get_definition
from nnrr.questionnaires.models import Response

GENDER: dict[str, str] = {Patient.Sex.MALE.value: "male", Patient.Sex.FEMALE.value: "female"}


def national_id_system(patient: Patient) -> str:
    return NATIONAL_ID_SYSTEMS.get(patient.id_kind, NATIONAL_ID_SYSTEMS["fnr"])


def patient_resource(patient: Patient) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": str(patient.pk),
        "identifier": [{"system": national_id_system(patient), "value": patient.national_id}],
        "name": [{"text": patient.name}],
        "gender": GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.birth_date.isoformat(),
        "managingOrganization": {
            "identifier": {
                "system": "urn:oid:2.16.578.1.12.4.1.4.102",
                "value": str(patient.unit_id),
            },
            "display": patient.unit.name,
        },
    }


class QuestionnaireCache:
    """Each form version's Questionnaire built once per request."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str], tuple[Definition, dict[str, Any], set[str]]] = {}

    def get(self, form: str, version: str) -> tuple[Definition, dict[str, Any], set[str]]:
        key = (form, version)
        if key not in self._built:
            definition = get_definition(form, version)
            self._built[key] = (definition, build_questionnaire(definition), box_lists(definition))
        return self._built[key]


def response_resource(response: Response, cache: QuestionnaireCache) -> dict[str, Any]:
    """A completed form as a QuestionnaireResponse (``response.course.patient`` selected)."""
    _definition, questionnaire, boxes = cache.get(response.kind, response.definition_version)
    patient = response.course.patient
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": str(response.pk),
        "questionnaire": f"{questionnaire_url(response.kind)}|{response.definition_version}",
        "status": "completed",
        "subject": {
            "reference": f"Patient/{patient.pk}",
            "identifier": {"system": national_id_system(patient), "value": patient.national_id},
        },
        "item": response_items(
            questionnaire, response.answers, consent=response.consent, boxes=boxes
        ),
    }
    if response.completed_at:
        resource["authored"] = timezone.localtime(response.completed_at).isoformat()
    order = getattr(response, "order", None)
    if order is not None:
        resource["basedOn"] = [{"identifier": {"system": order_system(), "value": str(order.pk)}}]
    return resource


def bundle(
    entries: list[dict[str, Any]], *, base: str, self_url: str, next_url: str = ""
) -> dict[str, Any]:
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{e['resourceType']}/{e['id']}",
                "resource": e,
                "search": {"mode": "match"},
            }
            for e in entries
        ],
    }


def capability_statement(base: str) -> dict[str, Any]:
    def read_search(kind: str, params: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "type": kind,
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [{"name": name, "type": kind_} for name, kind_ in params],
        }

    responses = read_search(
        "QuestionnaireResponse",
        [
            ("patient.identifier", "token"),
            ("subject", "reference"),
            ("patient", "reference"),
            ("authored", "date"),
            ("questionnaire", "reference"),
            ("_count", "number"),
        ],
    )
    responses["interaction"].append({"code": "create"})
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.now().date().isoformat(),
        "publisher": PUBLISHER,
        "kind": "instance",
        "software": {"name": "NNRR"},
        "implementation": {"description": "Norsk nakke- og ryggregister", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [
            {
                "mode": "server",
                "security": {
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/"
                                    "restful-security-service",
                                    "code": "OAuth",
                                }
                            ]
                        }
                    ],
                    "description": (
                        "OAuth 2.0 client credentials: a signed JWT access token (at+jwt) from "
                        f"{settings.FHIR_TOKEN_ISSUER or 'HelseID'} for the audience "
                        f"{settings.FHIR_AUDIENCE}, one client per unit, one scope per resource "
                        "type (system/<Type>.read; system/QuestionnaireResponse.write, "
                        "system/Appointment.write)."
                    ),
                },
                "resource": [
                    {
                        "type": "Questionnaire",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                    },
                    responses,
                    read_search("Patient", [("identifier", "token")]),
                    read_search(
                        "DocumentReference",
                        [
                            ("patient.identifier", "token"),
                            ("subject", "reference"),
                            ("date", "date"),
                            ("questionnaire", "reference"),
                        ],
                    ),
                    {"type": "Binary", "interaction": [{"code": "read"}]},
                    # A booking system's appointments (nnrr/appointments/fhir_views.py).
                    {"type": "Appointment", "interaction": [{"code": "update"}]},
                ],
            }
        ],
    }
