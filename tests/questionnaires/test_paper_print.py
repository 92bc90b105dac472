"""Paper forms printed by the system: the PDF (text extracted with pypdf) holds every item label
of the form, the consent page first, and the patient header on every page; a blank version has
no patient data; printing is audited and scoped to the unit."""

from __future__ import annotations

import html
import io
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.patients.models import Course
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import Source
from nnrr.scheduling import services
from tests.conftest import ST_OLAVS, book, make_patient


def pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def course(persona: Any) -> Course:
    patient = make_patient(ST_OLAVS, name="Petra Papirsen")
    return book(persona("clinician"), patient, planned_in_days=10)


# Renders each paper form's PDF with WeasyPrint: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["1a", "2", "3"])
def test_printed_form_holds_every_item_label_and_the_patient_header_on_every_page(
    as_persona: Any, course: Course, kind: str
) -> None:
    if kind != "1a":  # the NDI of a follow-up is asked when the baseline said neck
        services.submit_patient_form(
            actor=Actor.system(),
            course=course,
            kind="1a",
            answers={"IsNeckPainMainProblem": 1},
            consent=True,
            source=Source.PAPER,
            now=timezone.now(),
        )
    response = as_persona("clinician").get(
        reverse("questionnaires:paper_print", args=[course.pk, kind])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]
    texts = pages(response.content)
    assert len(texts) > 1
    patient = course.patient
    for number, text in enumerate(texts, start=1):
        assert patient.name in text, number
        assert patient.national_id_formatted in text, number
        assert course.planned_consultation_date.strftime("%d.%m.%Y") in text, number
        assert f"Side {number} av {len(texts)}" in text
    everything = " ".join(texts)
    definition = get_definition(kind)
    missing = [item.id for item in definition.items() if squash(str(item.label)) not in everything]
    assert missing == []
    for group in definition.groups():
        assert squash(str(group.label)) in everything
    for item in definition.items():  # every answer text of a choice, without its code
        for code in item.codes:
            assert squash(str(code.label)) in everything, (item.id, code.code)
            assert f"{squash(str(code.label))} ({code.code})" not in everything, (item.id, code)
    if kind == "1a":
        assert "Samtykke" in texts[0]
        assert texts[0].index("Samtykke") < everything.index(
            squash(str(definition.sections[0].title))
        )
    event = AuditEvent.objects.get(action="nnrr.form.paper_printed")
    assert event.patient_id == patient.pk and event.detail["kind"] == kind


# Renders a paper form's PDF with WeasyPrint: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_blank_form_has_no_patient_data_and_says_where_the_answers_stay(as_persona: Any) -> None:
    response = as_persona("clerk").get(reverse("questionnaires:paper_blank", args=["1a"]))
    assert response.status_code == 200
    texts = pages(response.content)
    assert "blir skjemaet i klinikken og registreres ikke i registeret" in texts[0]
    for text in texts:
        assert "Pasient:" in text and "Fødselsnummer:" in text
        assert not re.search(r"\d{6} ?\d{5}", text)  # no fødselsnummer printed
    assert not AuditEvent.objects.filter(action="nnrr.form.paper_printed").exists()


def test_printing_is_for_form_roles_of_the_unit_only(as_persona: Any, course: Course) -> None:
    url = reverse("questionnaires:paper_print", args=[course.pk, "1a"])
    assert as_persona("haukeland_clinician").get(url).status_code in (403, 404)
    assert (
        as_persona("clinician")
        .get(reverse("questionnaires:paper_print", args=[course.pk, "9"]))
        .status_code
        == 404
    )
    assert (
        as_persona("clinician").get(reverse("questionnaires:paper_blank", args=["1b"])).status_code
        == 404
    )


def test_patient_page_and_front_page_offer_printing(as_persona: Any, course: Course) -> None:
    client = as_persona("clinician")
    detail = client.get(reverse("patients:detail", args=[course.patient_id])).content.decode()
    assert "Skriv ut papirskjema" in detail
    assert reverse("questionnaires:paper_print", args=[course.pk, "2"]) in detail
    front = client.get("/").content.decode()
    assert reverse("questionnaires:paper_blank", args=["1a"]) in front


def test_paper_form_reads_as_paper_with_the_web_consent_sentence(
    as_persona: Any, persona: Any, course: Course
) -> None:
    client = as_persona("clinician")
    printed = " ".join(
        pages(client.get(reverse("questionnaires:paper_print", args=[course.pk, "1a"])).content)
    )
    # No instruction to tap or click: a pen cannot tap.
    assert not re.search(r"\b(trykk|klikk|tap)", printed, re.IGNORECASE), printed
    assert "Kryss av i listen under figurene for alle steder der du har smerter" in printed
    # No answer codes beside the choices: "Gift/samboer (1)" would be read as part of the answer.
    assert not re.search(r"[A-Za-zæøåÆØÅ] \(\d{1,2}\)", printed), re.findall(
        r".{30}[A-Za-zæøåÆØÅ] \(\d{1,2}\)", printed
    )
    # The consent sentence is the one the patient ticks on the web's consent page, word for word.
    ordered = services.order_questionnaire(
        actor=persona("clinician").actor,
        course=course,
        kind="1a",
        notify_self=True,
        now=timezone.now(),
    )
    patient_browser = Client()
    patient_browser.post(
        reverse("portal:start"),
        {"code": ordered.code, "birth_date": course.patient.birth_date.strftime("%d.%m.%Y")},
    )
    consent_page = patient_browser.get(reverse("portal:consent")).content.decode()
    label = re.search(r'<label class="ds-label" for="consent">(.*?)</label>', consent_page, re.S)
    assert label is not None, consent_page
    assert squash(html.unescape(label.group(1))) in printed
