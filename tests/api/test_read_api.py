"""The read-only FHIR API for a hospital's record system (nnrr/api/views.py, nnrr/api/auth.py):
machine clients with signed JWT access tokens, one unit each, every read audited as the client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient as FhirPatient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

from nnrr.api.models import MachineClient
from nnrr.audit.models import AuditEvent
from nnrr.questionnaires.models import FormKind, Response
from tests.api.conftest import HAUKELAND_CLIENT, ST_OLAVS_CLIENT, Records, submit
from tests.api.token_provider import TokenProvider
from tests.conftest import HAUKELAND, ST_OLAVS, book, make_patient


def entries(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content[:2000]
    Bundle.model_validate(response.json())
    return [e["resource"] for e in response.json().get("entry", [])]


def outcome(response: Any) -> OperationOutcome:
    return OperationOutcome.model_validate(response.json())


def test_st_olavs_lists_a_patients_completed_forms_and_haukeland_sees_none(
    records: Records, api: Callable[..., Client]
) -> None:
    search = {"patient.identifier": f"urn:oid:2.16.578.1.12.4.1.4.1|{records.patient.national_id}"}
    found = entries(api().get("/fhir/QuestionnaireResponse", search))
    assert sorted(r["id"] for r in found) == sorted(
        [str(records.pre.pk), str(records.follow_up.pk)]
    )
    for resource in found:
        QuestionnaireResponse.model_validate(resource)
        assert resource["status"] == "completed"
        assert resource["subject"]["reference"] == f"Patient/{records.patient.pk}"
    pre = next(r for r in found if r["id"] == str(records.pre.pk))
    assert pre["questionnaire"] == "https://nakkeryggreg.no/fhir/Questionnaire/nnrr-1a|1.0"
    answered = {item["linkId"]: item for item in _walk(pre["item"])}
    assert answered["FamilyStatus"]["answer"] == [
        {
            "valueCoding": {
                "system": "https://nakkeryggreg.no/fhir/CodeSystem/FamilyStatus",
                "code": "2",
            }
        }
    ]
    assert answered["Consent"]["answer"] == [{"valueBoolean": True}]
    assert [a["valueCoding"]["code"] for a in answered["pain_drawing"]["answer"]] == [
        "IsPainLowBack"
    ]

    haukeland = api(HAUKELAND_CLIENT)
    assert entries(haukeland.get("/fhir/QuestionnaireResponse", search)) == []
    assert haukeland.get(f"/fhir/QuestionnaireResponse/{records.pre.pk}").status_code == 404
    assert haukeland.get(f"/fhir/Patient/{records.patient.pk}").status_code == 404
    assert (
        entries(haukeland.get("/fhir/Patient", {"identifier": records.patient.national_id})) == []
    )


def _walk(items: list[dict[str, Any]]) -> Any:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def test_drafts_and_forms_without_consent_are_never_served(
    records: Records, api: Callable[..., Client]
) -> None:
    client = api()
    draft = Response.objects.get(course=records.course, kind=FormKind.CLINICIAN)  # Kladd
    assert client.get(f"/fhir/QuestionnaireResponse/{draft.pk}").status_code == 404
    everything = entries(client.get("/fhir/QuestionnaireResponse"))
    assert {r["id"] for r in everything} == {str(records.pre.pk), str(records.follow_up.pk)}
    unconsented = client.get(
        "/fhir/QuestionnaireResponse", {"subject": f"Patient/{records.unconsented.pk}"}
    )
    assert entries(unconsented) == []


def test_searches_by_subject_authored_and_questionnaire(
    records: Records, api: Callable[..., Client]
) -> None:
    client = api()

    def ids(params: dict[str, Any]) -> list[str]:
        return [r["id"] for r in entries(client.get("/fhir/QuestionnaireResponse", params))]

    pre, follow_up = str(records.pre.pk), str(records.follow_up.pk)
    assert ids({"subject": f"Patient/{records.patient.pk}"}) == [pre, follow_up]
    recent = (timezone.localdate() - dt.timedelta(days=30)).isoformat()
    assert ids({"authored": f"ge{recent}"}) == [follow_up]
    assert ids({"authored": f"lt{recent}"}) == [pre]
    old = timezone.localtime(records.pre.completed_at).date().isoformat()
    assert ids({"authored": old}) == [pre]
    assert ids({"authored": [f"ge{old}", f"le{recent}"]}) == [pre]
    assert ids({"questionnaire": "https://nakkeryggreg.no/fhir/Questionnaire/nnrr-2"}) == [
        follow_up
    ]
    assert ids({"questionnaire": "https://nakkeryggreg.no/fhir/Questionnaire/nnrr-1a|1.0"}) == [pre]
    assert ids({"questionnaire": "Questionnaire/nnrr-2-1.0"}) == [follow_up]


def test_paging_follows_bundle_next_links_to_the_end(
    records: Records, persona: Any, api: Callable[..., Client]
) -> None:
    clinician = persona("clinician")
    expected = {str(records.pre.pk), str(records.follow_up.pk)}
    for number in range(3):
        course = book(clinician, make_patient(ST_OLAVS, name=f"Side {number}"))
        expected.add(
            str(submit(course, FormKind.PRE_TREATMENT, {"FamilyStatus": 1}, timezone.now()).pk)
        )
    client = api()
    seen: list[str] = []
    url = "/fhir/QuestionnaireResponse?_count=2"
    pages = 0
    while url:
        response = client.get(url)
        bundle = response.json()
        seen += [r["id"] for r in entries(response)]
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        next_url = links.get("next", "")
        url = f"{urlsplit(next_url).path}?{urlsplit(next_url).query}" if next_url else ""
        pages += 1
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"authored": "ge2024-13-01"},
        {"authored": "sometime"},
        {"subject": "Patient/nobody"},
        {"questionnaire": "https://example.org/Questionnaire/other"},
        {"_count": "many"},
        {"_cursor": "garbage"},
        {"name": "Rita"},
    ],
)
def test_bad_search_parameters_are_a_400_operation_outcome(
    records: Records, api: Callable[..., Client], params: dict[str, str]
) -> None:
    response = api().get("/fhir/QuestionnaireResponse", params)
    assert response.status_code == 400
    assert outcome(response).issue[0].severity == "error"


def test_the_patient_resource_is_the_units_record(
    records: Records, api: Callable[..., Client]
) -> None:
    client = api()
    read = client.get(f"/fhir/Patient/{records.patient.pk}")
    assert read.status_code == 200
    patient = FhirPatient.model_validate(read.json())
    assert patient.identifier[0].value == records.patient.national_id
    assert patient.identifier[0].system == "urn:oid:2.16.578.1.12.4.1.4.1"
    found = entries(client.get("/fhir/Patient", {"identifier": records.patient.national_id}))
    assert [p["id"] for p in found] == [str(records.patient.pk)]
    assert client.get("/fhir/Patient").status_code == 400


def test_every_read_is_audited_as_the_client(records: Records, api: Callable[..., Client]) -> None:
    client = api()
    before = AuditEvent.objects.count()
    entries(client.get("/fhir/QuestionnaireResponse", {"subject": f"Patient/{records.patient.pk}"}))
    client.get(f"/fhir/Patient/{records.patient.pk}")
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.object_id) for e in events] == [
        ("nnrr.fhir.response_read", str(records.pre.pk)),
        ("nnrr.fhir.response_read", str(records.follow_up.pk)),
        ("nnrr.fhir.patient_read", str(records.patient.pk)),
    ]
    for event in events:
        assert event.patient_id == records.patient.pk
        assert event.role == "maskinklient"
        assert event.unit_id == ST_OLAVS
        assert ST_OLAVS_CLIENT in event.actor_name
    denied = api(HAUKELAND_CLIENT).get(f"/fhir/QuestionnaireResponse/{records.pre.pk}")
    assert denied.status_code == 404
    last = AuditEvent.objects.order_by("-id").first()
    assert last is not None
    assert (last.action, last.outcome, last.unit_id) == (
        "nnrr.fhir.response.access_denied",
        "denied",
        HAUKELAND,
    )


# --- Authentication -------------------------------------------------------------------------


def refused(response: Any) -> None:
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert outcome(response).issue[0].code == "login"


def test_no_token_is_refused_and_logged(records: Records, machine_clients: Any) -> None:
    refused(Client().get("/fhir/QuestionnaireResponse"))
    refused(Client(HTTP_AUTHORIZATION="Basic abc").get(f"/fhir/Patient/{records.patient.pk}"))
    events = AuditEvent.objects.filter(action="nnrr.fhir.token_refused")
    assert [e.detail["reason"] for e in events.order_by("id")] == ["no_token", "no_token"]


def test_a_token_signed_with_another_key_is_refused(
    records: Records, issuer: TokenProvider, machine_clients: Any
) -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    now = int(timezone.now().timestamp())
    forged = jwt.encode(
        {"alg": "RS256", "typ": "at+jwt", "kid": "forged"},
        {
            "iss": issuer.url,
            "aud": "nnrr:fhir",
            "client_id": ST_OLAVS_CLIENT,
            "scope": "system/QuestionnaireResponse.read",
            "iat": now,
            "exp": now + 300,
        },
        forger,
    )
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {forged}").get("/fhir/QuestionnaireResponse"))
    refused(Client(HTTP_AUTHORIZATION="Bearer not.a.jwt").get("/fhir/QuestionnaireResponse"))


def test_expired_tokens_and_tokens_that_are_not_access_tokens_are_refused(
    records: Records, issuer: TokenProvider, machine_clients: Any
) -> None:
    issuer.lifetime = -300
    expired = issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.read")
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {expired}").get("/fhir/QuestionnaireResponse"))
    assert AuditEvent.objects.get(action="nnrr.fhir.token_refused").detail["reason"] == "expired"
    issuer.lifetime, issuer.token_type = 600, "JWT"
    id_token_like = issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.read")
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {id_token_like}").get("/fhir/QuestionnaireResponse"))


def test_a_token_without_expiry_is_logged_as_malformed_not_expired(
    records: Records, issuer: TokenProvider, machine_clients: Any
) -> None:
    issuer.without_expiry = True
    endless = issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.read")
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {endless}").get("/fhir/QuestionnaireResponse"))
    assert AuditEvent.objects.get(action="nnrr.fhir.token_refused").detail["reason"] == "bad_claims"


def test_a_token_for_another_audience_is_refused(
    records: Records, issuer: TokenProvider, machine_clients: Any
) -> None:
    other = issuer.token(
        ST_OLAVS_CLIENT, "system/QuestionnaireResponse.read", audience="kjernejournal"
    )
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {other}").get("/fhir/QuestionnaireResponse"))


def test_a_client_unknown_to_the_registry_or_switched_off_is_refused(
    records: Records, issuer: TokenProvider, machine_clients: Any
) -> None:
    issuer.register("ukjent-journal", {"system/QuestionnaireResponse.read"})
    unknown = issuer.token("ukjent-journal", "system/QuestionnaireResponse.read")
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {unknown}").get("/fhir/QuestionnaireResponse"))
    token = issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.read")
    MachineClient.objects.filter(client_id=ST_OLAVS_CLIENT).update(is_active=False)
    refused(Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/fhir/QuestionnaireResponse"))


def test_each_resource_type_needs_its_scope_and_only_granted_scopes_count(
    records: Records, api: Callable[..., Client]
) -> None:
    only_patients = api(scopes="system/Patient.read")
    assert only_patients.get(f"/fhir/Patient/{records.patient.pk}").status_code == 200
    forbidden = only_patients.get("/fhir/QuestionnaireResponse")
    assert forbidden.status_code == 403
    assert outcome(forbidden).issue[0].code == "forbidden"
    # The issuer may grant more than the registry does: the registry's grant decides.
    MachineClient.objects.filter(client_id=ST_OLAVS_CLIENT).update(scopes=["system/Patient.read"])
    assert api().get("/fhir/QuestionnaireResponse").status_code == 403


def test_unknown_paths_under_fhir_answer_an_operation_outcome(db: Any) -> None:
    response = Client().get("/fhir/Observation/1")
    assert response.status_code == 404
    assert outcome(response).issue[0].code == "not-supported"
