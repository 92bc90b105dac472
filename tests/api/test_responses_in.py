"""Completed forms arriving as FHIR QuestionnaireResponses: POST /fhir/QuestionnaireResponse and
``nnrr fhir import FILE`` (nnrr/api/services.py) store them exactly as our portal would, and
refuse bad input with an OperationOutcome in Norwegian and English, storing nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from nnrr.api.answers import response_items
from nnrr.api.questionnaire import box_lists, build_questionnaire
from nnrr.api.services import order_system
from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Patient
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.models import Order, OrderState
from tests.api.conftest import HAUKELAND_CLIENT
from tests.conftest import ST_OLAVS, Persona, book, make_patient
from tests.questionnaires.helpers import as_post, complete_answers

FNR = "urn:oid:2.16.578.1.12.4.1.4.1"


def order_for(persona: Callable[[str], Persona], kind: str = FormKind.PRE_TREATMENT) -> Order:
    clinician = persona("clinician")
    patient = make_patient(ST_OLAVS, name="Helge Helsenorge")
    course = book(clinician, patient)
    if kind != FormKind.PRE_TREATMENT:
        scheduling.submit_patient_form(
            actor=Actor.system("test"),
            course=course,
            kind=FormKind.PRE_TREATMENT,
            answers={"FamilyStatus": 1, "IsNeckPainMainProblem": 0},
            consent=True,
            source=Source.PORTAL,
            now=timezone.now(),
        )
    return scheduling.order_questionnaire(
        actor=clinician.actor, course=course, kind=kind, notify_self=True, now=timezone.now()
    ).order


def full_answers(kind: str) -> dict[str, Any]:
    """Every question answered, a few pain regions ticked, and (1a) the neck section skipped."""
    definition = get_definition(kind)
    answers = complete_answers(definition)
    if kind == FormKind.PRE_TREATMENT:
        answers["IsNeckPainMainProblem"] = 0  # not the neck: the NDI section is skipped
        answers = {
            k: v for k, v in answers.items() if definition.items_by_id[k].instrument != "ndi"
        }
        answers.update(IsPainNeckBack=True, IsPainLowBack=True)
    return answers


def questionnaire_response(
    order: Order, answers: dict[str, Any], *, consent: bool | None = True
) -> dict[str, Any]:
    """What Helsenorge's form filler sends for these answers."""
    definition = get_definition(order.kind)
    questionnaire = build_questionnaire(definition)
    patient = order.course.patient
    return {
        "resourceType": "QuestionnaireResponse",
        "status": "in-progress",
        "questionnaire": f"{questionnaire['url']}|{definition.version}",
        "identifier": {"system": order_system(), "value": str(order.pk)},
        "subject": {"identifier": {"system": FNR, "value": patient.national_id}},
        "authored": timezone.now().isoformat(),
        "item": response_items(
            questionnaire,
            answers,
            consent=consent if definition.consent else None,
            boxes=box_lists(definition),
        ),
    }


def post(client: Client, resource: Any) -> Any:
    return client.post(
        "/fhir/QuestionnaireResponse",
        data=json.dumps(resource),
        content_type="application/fhir+json",
    )


def portal_submit(order: Order, answers: dict[str, Any]) -> Response:
    """The same answers through our own portal, page by page, as a patient."""
    client = Client()
    session = client.session
    session["nnrr_portal_order"] = str(order.pk)
    session.save()
    if order.kind == FormKind.PRE_TREATMENT:
        assert client.post(reverse("portal:consent"), {"consent": "1"}).status_code == 302
    location = reverse("portal:section", args=[1])
    for _page in range(30):
        if location == reverse("portal:review"):
            break
        posted = client.post(location, {**as_post(answers), "action": "next"})
        assert posted.status_code == 302, posted.content[:2000]
        location = posted["Location"]
    assert client.post(reverse("portal:review"))["Location"] == reverse("portal:receipt")
    return Response.objects.get(course=order.course, kind=order.kind, status=FormStatus.FERDIGSTILT)


def issues(response: Any) -> list[Any]:
    outcome = OperationOutcome.model_validate(response.json())
    return list(outcome.issue)


def english(issue: Any) -> str:
    return issue.details.text__ext.extension[0].extension[1].valueString


def nothing_stored(order: Order) -> None:
    assert not Response.objects.filter(
        course=order.course, kind=order.kind, status=FormStatus.FERDIGSTILT
    ).exists()
    assert Order.objects.get(pk=order.pk).state == OrderState.SENT


# --- The same form as the portal's ----------------------------------------------------------


@pytest.mark.parametrize(
    "kind", [FormKind.PRE_TREATMENT, FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
)
def test_the_same_answers_via_fhir_and_via_the_portal_are_stored_and_scored_identically(
    kind: str, persona: Any, api: Callable[..., Client]
) -> None:
    answers = full_answers(kind)
    via_portal = portal_submit(order_for(persona, kind), answers)
    order = order_for(persona, kind)

    created = post(api(), questionnaire_response(order, answers))

    assert created.status_code == 201, created.content[:3000]
    via_fhir = Response.objects.get(pk=created.json()["id"])
    assert via_fhir.answers == via_portal.answers
    assert via_fhir.scores == via_portal.scores
    assert via_fhir.scores  # scored on submit
    assert (via_fhir.consent, via_fhir.definition_version, via_fhir.wording) == (
        via_portal.consent,
        via_portal.definition_version,
        via_portal.wording,
    )
    assert via_fhir.status == FormStatus.FERDIGSTILT
    assert via_fhir.source == Source.HELSENORGE
    stored_order = Order.objects.get(pk=order.pk)
    assert stored_order.state == OrderState.ANSWERED
    assert stored_order.response_id == via_fhir.pk
    QuestionnaireResponse.model_validate(created.json())
    assert created["Location"].endswith(f"/fhir/QuestionnaireResponse/{via_fhir.pk}")


def test_the_skipped_neck_section_is_not_stored(persona: Any, api: Callable[..., Client]) -> None:
    order = order_for(persona)
    answers = full_answers(FormKind.PRE_TREATMENT)
    ndi = {i.id for i in get_definition("1a").items() if i.instrument == "ndi"}
    # A form filler that let the neck questions through anyway: they are hidden, so dropped.
    answers.update(dict.fromkeys(ndi, 1))
    created = post(api(), questionnaire_response(order, answers))
    assert created.status_code == 201
    stored = Response.objects.get(pk=created.json()["id"])
    assert not ndi & set(stored.answers)
    assert stored.answers["IsPainNeckBack"] is True


def test_nnrr_fhir_import_stores_a_response_file(persona: Any, tmp_path: Path) -> None:
    order = order_for(persona)
    path = tmp_path / "svar.json"
    path.write_text(json.dumps(questionnaire_response(order, full_answers("1a"))), "utf-8")
    call_command("fhir", "import", str(path))
    assert Order.objects.get(pk=order.pk).state == OrderState.ANSWERED


def test_nnrr_fhir_import_refuses_a_bad_file_with_a_message(persona: Any, tmp_path: Path) -> None:
    order = order_for(persona)
    resource = questionnaire_response(order, full_answers("1a"))
    resource["item"].append({"linkId": "NotOurs", "answer": [{"valueString": "x"}]})
    path = tmp_path / "svar.json"
    path.write_text(json.dumps(resource), "utf-8")
    with pytest.raises(CommandError, match="NotOurs"):
        call_command("fhir", "import", str(path))
    nothing_stored(order)
    (tmp_path / "tom.json").write_text("{not json", "utf-8")
    with pytest.raises(CommandError, match="ikke gyldig JSON"):
        call_command("fhir", "import", str(tmp_path / "tom.json"))


# --- The consent rule -----------------------------------------------------------------------


def test_a_pre_treatment_form_without_consent_stores_nothing(
    persona: Any, api: Callable[..., Client]
) -> None:
    order = order_for(persona)
    for consent in (False, None):
        refused = post(api(), questionnaire_response(order, full_answers("1a"), consent=consent))
        assert refused.status_code == 422
        found = issues(refused)
        assert found[0].details.text.startswith("Skjemaet kan ikke sendes inn uten samtykke")
        assert english(found[0]).startswith("The form cannot be submitted without consent")
    nothing_stored(order)
    assert not Response.objects.filter(course=order.course, kind=FormKind.PRE_TREATMENT).exists()
    assert AuditEvent.objects.filter(action="nnrr.fhir.response_refused").count() == 2


def test_a_follow_up_for_a_course_without_consent_is_refused(
    persona: Any, api: Callable[..., Client]
) -> None:
    order = order_for(persona, FormKind.FOLLOW_UP_6)
    scheduling.withdraw_consent(
        actor=persona("clinician").actor,
        patient=order.course.patient,
        reason="Pasienten trakk samtykket",
        now=timezone.now(),
    )
    assert Order.objects.get(pk=order.pk).state == OrderState.CANCELLED
    closed = post(api(), questionnaire_response(order, full_answers("2")))
    assert closed.status_code == 409
    # Even with the order reopened behind the rule's back, the consent rule itself refuses.
    Order.objects.filter(pk=order.pk).update(state=OrderState.SENT)
    refused = post(api(), questionnaire_response(order, full_answers("2")))
    assert refused.status_code == 422
    assert issues(refused)[0].details.text.endswith("Ingen opplysninger er lagret.")
    assert english(issues(refused)[0]).endswith("No information has been saved.")
    nothing_stored(order)


# --- Bad input ------------------------------------------------------------------------------


def bad(order: Order, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    resource = questionnaire_response(order, full_answers("1a"))
    change(resource)
    return resource


def _item(resource: dict[str, Any], link_id: str) -> dict[str, Any]:
    def walk(items: list[dict[str, Any]]) -> Any:
        for item in items:
            if item["linkId"] == link_id:
                return item
            found = walk(item.get("item", []))
            if found:
                return found
        return None

    return walk(resource["item"])


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], int, str, str]] = {
    "unknown linkId": (
        lambda r: r["item"].append({"linkId": "Shoesize", "answer": [{"valueInteger": 44}]}),
        422,
        "Ukjent spørsmål «Shoesize»",
        "Shoesize",
    ),
    "wrong type": (
        lambda r: _item(r, "OwnChildren").update(answer=[{"valueString": "tre"}]),
        422,
        "feil type",
        "OwnChildren",
    ),
    "out of range": (
        lambda r: _item(r, "PainExperiencesActivity").update(answer=[{"valueInteger": 11}]),
        422,
        "Svaret må være mellom 0 og 10",
        "PainExperiencesActivity",
    ),
    "a code that is not ours": (
        lambda r: _item(r, "FamilyStatus")["answer"][0]["valueCoding"].update(code="99"),
        422,
        "er ikke et av svaralternativene",
        "FamilyStatus",
    ),
    "two answers to one question": (
        lambda r: _item(r, "FamilyStatus")["answer"].append(_item(r, "FamilyStatus")["answer"][0]),
        422,
        "har ett svar",
        "FamilyStatus",
    ),
    "not a QuestionnaireResponse": (
        lambda r: r.update(resourceType="Patient"),
        400,
        "Innholdet er ikke en FHIR QuestionnaireResponse",
        "",
    ),
    "not valid FHIR": (
        lambda r: r.update(status=17),
        400,
        "Ikke en gyldig FHIR R4 QuestionnaireResponse",
        "",
    ),
    "another form's questionnaire": (
        lambda r: r.update(questionnaire="https://nakkeryggreg.no/fhir/Questionnaire/nnrr-2|1.0"),
        422,
        "feil skjema eller versjon",
        "",
    ),
    "an unknown order": (
        lambda r: r["identifier"].update(value="6b1f2c1e-0000-4000-8000-000000000000"),
        404,
        "Fant ingen bestilling",
        "",
    ),
    "another patient's national id": (
        lambda r: r["subject"]["identifier"].update(value="01017012345"),
        404,
        "Fant ingen bestilling",
        "",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_input_gets_an_operation_outcome_in_both_languages_and_stores_nothing(
    case: str, persona: Any, api: Callable[..., Client]
) -> None:
    change, status, norwegian, link_id = CASES[case]
    order = order_for(persona)
    refused = post(api(), bad(order, change))
    assert refused.status_code == status, refused.content[:2000]
    found = issues(refused)
    assert any(norwegian in i.details.text for i in found), [i.details.text for i in found]
    assert all(english(i) and english(i) != i.details.text for i in found)
    if link_id:
        assert any(link_id in (i.expression or [""])[0] for i in found)
    nothing_stored(order)


def test_a_body_that_is_not_json_is_a_400_operation_outcome(
    persona: Any, api: Callable[..., Client]
) -> None:
    refused = api().post("/fhir/QuestionnaireResponse", data=b"{x", content_type="application/json")
    assert refused.status_code == 400
    assert issues(refused)[0].code == "structure"


def test_a_second_response_and_a_closed_order_are_refused(
    persona: Any, api: Callable[..., Client]
) -> None:
    order = order_for(persona)
    resource = questionnaire_response(order, full_answers("1a"))
    assert post(api(), resource).status_code == 201
    second = post(api(), resource)
    assert second.status_code == 409
    assert "allerede levert" in issues(second)[0].details.text
    assert Response.objects.filter(course=order.course, kind=FormKind.PRE_TREATMENT).count() == 1

    closed = order_for(persona)
    Order.objects.filter(pk=closed.pk).update(state=OrderState.CANCELLED)
    refused = post(api(), questionnaire_response(closed, full_answers("1a")))
    assert refused.status_code == 409
    assert "Bestillingen er lukket" in issues(refused)[0].details.text
    assert english(issues(refused)[0]).startswith("The order is closed")


def test_another_units_client_cannot_answer_this_units_order(
    persona: Any, api: Callable[..., Client]
) -> None:
    order = order_for(persona)
    refused = post(api(HAUKELAND_CLIENT), questionnaire_response(order, full_answers("1a")))
    assert refused.status_code == 404
    nothing_stored(order)


def test_posting_needs_the_write_scope(persona: Any, api: Callable[..., Client]) -> None:
    order = order_for(persona)
    reader = api(scopes="system/QuestionnaireResponse.read")
    refused = post(reader, questionnaire_response(order, full_answers("1a")))
    assert refused.status_code == 403
    nothing_stored(order)
    assert Patient.objects.filter(pk=order.course.patient_id).exists()
