"""Our Questionnaires in Helsenorge's own form filler (@helsenorge/refero, the test page of
frontend/refero-test built by ``make refero-test``): a patient fills in each patient form in
Chromium, refero's QuestionnaireResponse is posted to NNRR, and NNRR stores and scores it exactly
as our portal stores the same answers."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from playwright.sync_api import Page, Route

from nnrr.api.questionnaire import box_lists, build_questionnaire
from nnrr.api.services import order_system
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, Response, Source
from nnrr.scheduling.models import Order, OrderState
from tests.api.test_responses_in import full_answers, order_for, portal_submit
from tests.conftest import ST_OLAVS_CLIENT

pytestmark = pytest.mark.browser

PAGE_DIR = Path(settings.BASE_DIR) / "var" / "refero-test"


def serve_test_page(page: Page) -> None:
    """The built test page under the live server's origin, so it talks to /fhir/ directly."""
    if not (PAGE_DIR / "main.js").exists():
        pytest.fail("the refero test page is not built: run `make refero-test`")

    def files(route: Route) -> None:
        name = route.request.url.split("/refero-test/", 1)[1].split("?", 1)[0]
        path = (PAGE_DIR / name).resolve()
        if PAGE_DIR.resolve() not in path.parents or not path.is_file():
            route.fulfill(status=404, body="")
            return
        kind = "text/javascript" if name.endswith(".js") else mimetypes.guess_type(name)[0]
        route.fulfill(
            status=200, body=path.read_bytes(), headers={"Content-Type": kind or "text/plain"}
        )

    page.route("**/refero-test/**", files)


def _walk(items: list[dict[str, Any]]) -> Any:
    for item in items:
        yield item
        yield from _walk(item.get("item", []))


def click_label_of(page: Page, selector: str) -> None:
    """Design-system radios and checkboxes are clicked through their label, as a person does."""
    field = page.locator(selector).first
    field.wait_for(state="attached")
    page.locator(f'label[for="{field.get_attribute("id")}"]').first.click()


def fill_as_patient(page: Page, kind: str, answers: dict[str, Any], *, consent: bool) -> None:
    """Answer each question in the order refero shows them (a condition's answer first)."""
    definition = get_definition(kind)
    questionnaire = build_questionnaire(definition)
    boxes = box_lists(definition)
    if consent and definition.consent:
        click_label_of(page, "#item_Consent")
    for item in _walk(questionnaire["item"]):
        link_id = item["linkId"]
        if link_id in boxes:
            for option in item["answerOption"]:
                code = option["valueCoding"]["code"]
                if answers.get(code) is True:
                    click_label_of(page, f'input[type="checkbox"][value="{code}"]')
            continue
        value = answers.get(link_id)
        if value is None or value is False or item["type"] in {"group", "display", "text"}:
            continue
        if item["type"] == "choice":
            click_label_of(page, f'input[type="radio"][name^="{link_id}"][value="{value}"]')
        elif item["type"] == "boolean":
            click_label_of(page, f"#item_{link_id}")
        else:
            field = page.locator(f"#item_{link_id}")
            field.fill(str(value))
            field.press("Tab")  # refero takes typed text on blur


def open_form(page: Page, order: Order, token: str) -> None:
    query = urlencode(
        {
            "questionnaire": f"nnrr-{order.kind}-{get_definition(order.kind).version}",
            "order": str(order.pk),
            "orderSystem": order_system(),
            "fnr": order.course.patient.national_id,
            "token": token,
        }
    )
    page.goto(f"/refero-test/index.html?{query}")
    # The first load compiles a 3 MB bundle: slower than a page of ours on a busy machine.
    page.get_by_role("button", name="Send inn").wait_for(timeout=60_000)


def send(page: Page) -> dict[str, Any]:
    page.wait_for_timeout(300)
    page.get_by_role("button", name="Send inn").click()
    page.locator("#result[data-status]").wait_for(state="attached", timeout=20_000)
    return dict(json.loads(page.locator("#result").text_content() or "{}"))


@pytest.mark.parametrize(
    "kind", [FormKind.PRE_TREATMENT, FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12]
)
def test_a_form_filled_in_refero_is_stored_and_scored_as_the_portal_would(
    kind: str, new_page: Callable[..., Page], persona: Any, issuer: Any, machine_clients: Any
) -> None:
    answers = full_answers(kind)
    order = order_for(persona, kind)
    page = new_page()
    serve_test_page(page)
    open_form(page, order, issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.write"))

    fill_as_patient(page, kind, answers, consent=True)
    result = send(page)

    assert result["status"] == 201, json.dumps(result, ensure_ascii=False)[:3000]
    via_refero = Response.objects.get(pk=result["body"]["id"])
    via_portal = portal_submit(order_for(persona, kind), answers)
    assert via_refero.answers == via_portal.answers
    assert via_refero.scores == via_portal.scores
    assert via_refero.source == Source.HELSENORGE
    assert Order.objects.get(pk=order.pk).state == OrderState.ANSWERED
    if kind == FormKind.PRE_TREATMENT:
        ndi = {i.id for i in get_definition(kind).items() if i.instrument == "ndi"}
        assert not ndi & set(via_refero.answers), "the skipped neck section is not stored"
        assert via_refero.answers["IsPainLowBack"] is True


def test_refero_without_the_consent_tick_stores_nothing(
    new_page: Callable[..., Page], persona: Any, issuer: Any, machine_clients: Any
) -> None:
    order = order_for(persona)
    page = new_page()
    serve_test_page(page)
    open_form(page, order, issuer.token(ST_OLAVS_CLIENT, "system/QuestionnaireResponse.write"))
    # Refero itself asks for the required consent before it lets the form go.
    fill_as_patient(page, FormKind.PRE_TREATMENT, {"FamilyStatus": 2}, consent=False)
    page.get_by_role("button", name="Send inn").click()
    page.get_by_text("Sjekk at følgende er riktig utfylt").first.wait_for()
    assert page.locator("#result[data-status]").count() == 0
    assert not Response.objects.filter(course=order.course, kind=FormKind.PRE_TREATMENT).exists()


@pytest.mark.parametrize("form", ["1a", "1b", "2", "3"])
def test_refero_renders_every_questionnaire_with_its_sections_and_questions(
    form: str, new_page: Callable[..., Page], db: Any
) -> None:
    definition = get_definition(form)
    page = new_page()
    serve_test_page(page)
    page.goto(f"/refero-test/index.html?questionnaire=nnrr-{form}-{definition.version}")
    page.get_by_role("button", name="Send inn").wait_for(timeout=60_000)
    for section in definition.sections:
        if section.show_if is None:
            assert page.locator(f"#item_section-{section.id}").count() == 1, section.id
    first = next(i for i in definition.sections[0].items() if i.show_if is None)
    assert page.locator(f'[name^="{first.id}"], [name^="{first.group or first.id}"]').count() > 0
