"""Patient search by fødselsnummer and registration at the active unit."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.urls import reverse

from nnrr.audit.models import AuditEvent
from nnrr.demo.people import synthetic_id
from nnrr.patients.models import Patient, UnitPatient
from tests.conftest import HAUKELAND, ST_OLAVS, make_patient


def new_number(seed: int = 1) -> str:
    return synthetic_id(random.Random(seed), dt.date(1966, 4, 3), "F")


def test_search_finds_a_patient_of_the_unit(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    response = as_persona("clinician").get(
        reverse("patients:search"), {"national_id": patient.national_id}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])


def test_search_accepts_spaces_and_hyphens(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    typed = f"{patient.national_id[:6]} {patient.national_id[6:8]}-{patient.national_id[8:]}"
    response = as_persona("clinician").get(reverse("patients:search"), {"national_id": typed})
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("123", "11 siffer; du skrev 3"),
        ("2401949111x", "bare inneholde siffer"),
        ("24019491127", "Første kontrollsiffer"),
        ("24019491118", "Andre kontrollsiffer"),
        ("", "Skriv inn"),
    ],
)
def test_bad_numbers_say_what_is_wrong(as_persona: Any, typed: str, message: str) -> None:
    response = as_persona("clinician").get(reverse("patients:search"), {"national_id": typed})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_unknown_valid_number_offers_registration(as_persona: Any) -> None:
    number = new_number()
    response = as_persona("clinician").get(reverse("patients:search"), {"national_id": number})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Registrer pasient" in html
    assert "03.04.1966" in html  # birth date derived from the number


def test_a_patient_of_another_unit_is_not_revealed(as_persona: Any) -> None:
    patient = make_patient(HAUKELAND, name="Hemmelig Haukelandpasient")
    response = as_persona("clinician").get(
        reverse("patients:search"), {"national_id": patient.national_id}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Registrer pasient" in html
    assert "Hemmelig" not in html


def test_registering_creates_the_patient_with_birth_date_and_sex(
    as_persona: Any, persona: Any
) -> None:
    number = new_number(2)
    client = as_persona("clerk")
    response = client.post(
        reverse("patients:register"),
        {"national_id": number, "name": "  Siv   Testesen ", "email": "", "mobile": ""},
    )
    patient = Patient.objects.get(national_id=number)
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])
    assert patient.name == "Siv Testesen"
    assert patient.birth_date == dt.date(1966, 4, 3)
    assert patient.sex == "F"
    assert patient.id_kind == "synthetic"
    assert UnitPatient.objects.filter(patient=patient, unit_id=ST_OLAVS).exists()
    assert AuditEvent.objects.filter(
        action="nnrr.patient.registered", patient_id=patient.pk
    ).exists()


def test_registering_from_opprett_nytt_skjema_continues_to_the_form_choice(as_persona: Any) -> None:
    number = new_number(3)
    response = as_persona("clerk").post(
        reverse("patients:register"),
        {"national_id": number, "name": "Per Pasient", "then": "create"},
    )
    patient = Patient.objects.get(national_id=number)
    assert response["Location"] == reverse("patients:new_form", args=[patient.pk])


def test_registering_a_person_known_elsewhere_links_without_duplicating(as_persona: Any) -> None:
    patient = make_patient(HAUKELAND, name="Kari Kjent")
    as_persona("clerk").post(
        reverse("patients:register"), {"national_id": patient.national_id, "name": "Annet Navn"}
    )
    assert Patient.objects.filter(national_id=patient.national_id).count() == 1
    assert UnitPatient.objects.filter(patient=patient).count() == 2
    patient.refresh_from_db()
    assert patient.name == "Kari Kjent"


def test_registration_refuses_an_invalid_name_and_keeps_the_number(as_persona: Any) -> None:
    number = new_number(4)
    response = as_persona("clerk").post(
        reverse("patients:register"), {"national_id": number, "name": " "}
    )
    assert response.status_code == 200
    assert number in response.content.decode()
    assert not Patient.objects.filter(national_id=number).exists()


def test_registration_with_a_tampered_number_is_refused_without_error(as_persona: Any) -> None:
    response = as_persona("clerk").post(
        reverse("patients:register"), {"national_id": "12345678901", "name": "X Y"}, follow=True
    )
    assert response.status_code == 200
    assert "ugyldig" in response.content.decode()


@pytest.mark.parametrize("role", ["exporter", "report_reader", "national_admin"])
def test_roles_without_form_rights_cannot_search_or_register(as_persona: Any, role: str) -> None:
    client = as_persona(role)
    assert client.get(reverse("patients:search"), {"national_id": new_number()}).status_code == 403
    assert (
        client.post(
            reverse("patients:register"), {"national_id": new_number(5), "name": "A B"}
        ).status_code
        == 403
    )
