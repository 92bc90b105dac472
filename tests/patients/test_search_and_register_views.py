"""Patient search by fødselsnummer and registration at the active unit."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from nnrr import access
from nnrr.audit.models import AuditEvent
from nnrr.demo.people import synthetic_id
from nnrr.patients.models import Patient
from tests.conftest import (
    HAUKELAND,
    ST_OLAVS,
    make_patient,
    profile_request,
)


def new_number(seed: int = 1) -> str:
    return synthetic_id(random.Random(seed), dt.date(1966, 4, 3), "F")


def test_search_finds_a_patient_of_the_unit(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    response = as_persona("clinician").post(
        reverse("patients:search"), {"national_id": patient.national_id}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[patient.pk])


def test_search_accepts_spaces_and_hyphens(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    typed = f"{patient.national_id[:6]} {patient.national_id[6:8]}-{patient.national_id[8:]}"
    response = as_persona("clinician").post(reverse("patients:search"), {"national_id": typed})
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
    response = as_persona("clinician").post(reverse("patients:search"), {"national_id": typed})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_unknown_valid_number_offers_registration(as_persona: Any) -> None:
    number = new_number()
    response = as_persona("clinician").post(reverse("patients:search"), {"national_id": number})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Registrer pasient" in html
    assert "03.04.1966" in html  # birth date derived from the number


def test_a_patient_of_another_unit_is_not_revealed(as_persona: Any) -> None:
    patient = make_patient(HAUKELAND, name="Hemmelig Haukelandpasient")
    response = as_persona("clinician").post(
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
    assert patient.unit_id == ST_OLAVS
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


def test_registering_a_person_known_elsewhere_makes_the_units_own_record(as_persona: Any) -> None:
    patient = make_patient(HAUKELAND, name="Kari Kjent", email="kari@haukeland.example")
    response = as_persona("clerk").post(
        reverse("patients:register"), {"national_id": patient.national_id, "name": "Annet Navn"}
    )
    own = Patient.objects.get(national_id=patient.national_id, unit_id=ST_OLAVS)
    assert response["Location"] == reverse("patients:detail", args=[own.pk])
    assert own.pk != patient.pk
    assert own.name == "Annet Navn"
    assert own.email == ""
    patient.refresh_from_db()
    assert patient.name == "Kari Kjent"
    assert patient.unit_id == HAUKELAND


def test_registering_twice_at_the_unit_keeps_one_record(as_persona: Any) -> None:
    number = new_number(6)
    client = as_persona("clerk")
    for name in ("Første Navn", "Andre Navn"):
        client.post(reverse("patients:register"), {"national_id": number, "name": name})
    assert Patient.objects.filter(national_id=number).count() == 1
    assert Patient.objects.get(national_id=number).name == "Første Navn"


def test_search_is_a_post_and_the_number_stays_out_of_the_url(as_persona: Any) -> None:
    patient = make_patient(ST_OLAVS)
    client = as_persona("clinician")
    # A GET with the number (an old bookmark, a typed URL) only shows the empty search form.
    response = client.get(reverse("patients:search"), {"national_id": patient.national_id})
    assert response.status_code == 200
    assert patient.name not in response.content.decode()
    assert not AuditEvent.objects.filter(action="nnrr.patient.searched").exists()
    front = client.get(reverse("patients:front")).content.decode()
    assert 'method="get" action="/pasient/sok/"' not in front
    assert 'method="post" action="/pasient/sok/"' in front


def test_searches_are_audited_without_telling_another_units_patient_from_an_unknown(
    as_persona: Any,
) -> None:
    own = make_patient(ST_OLAVS)
    elsewhere = make_patient(HAUKELAND, name="Hemmelig Haukelandpasient")
    unknown = new_number(7)
    client = as_persona("clinician")
    pages = {}
    for number in (own.national_id, elsewhere.national_id, unknown):
        pages[number] = client.post(reverse("patients:search"), {"national_id": number})
    events = list(AuditEvent.objects.filter(action="nnrr.patient.searched").order_by("id"))
    assert len(events) == 3
    hit, other, miss = events
    assert hit.patient_id == own.pk and hit.detail == {"found": True}
    for event in (other, miss):
        assert event.patient_id is None
        assert event.detail == {"found": False}
        assert event.object_type == "national_id_hmac"
        # Neither the number nor anything of the other unit's record is in the trail.
        assert elsewhere.national_id not in event.object_id
        assert unknown not in event.object_id
    assert other.object_id != miss.object_id
    # The two pages differ only by the number and its birth date.
    other_html = pages[elsewhere.national_id].content.decode()
    miss_html = pages[unknown].content.decode()
    assert "Hemmelig" not in other_html and "Registrer pasient" in other_html
    normalise = lambda html, n: html.replace(n, "N").replace(n[:6], "D")  # noqa: E731
    assert len(normalise(other_html, elsewhere.national_id).splitlines()) == len(
        normalise(miss_html, unknown).splitlines()
    )


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
    assert client.post(reverse("patients:search"), {"national_id": new_number()}).status_code == 403
    assert (
        client.post(
            reverse("patients:register"), {"national_id": new_number(5), "name": "A B"}
        ).status_code
        == 403
    )


def test_a_search_that_finds_the_units_patient_names_the_patient_in_the_audit_row(
    persona: Any,
) -> None:
    patient = make_patient(ST_OLAVS)
    request = profile_request(persona, "clinician")
    assert access.search_patient(request, patient.national_id) == patient
    event = AuditEvent.objects.get(action="nnrr.patient.searched")
    assert (event.object_type, event.object_id) == ("patients.patient", str(patient.pk))
    assert event.patient_id == patient.pk and event.detail == {"found": True}


@override_settings(SECRET_KEY="nnrr-test-secret-for-the-audit-digest")
def test_the_digest_of_a_searched_number_stays_the_same_across_releases() -> None:
    """Audit rows of searches for unknown numbers hold only this digest; a person's access log
    finds them by computing it again, so it must not change between versions: HMAC-SHA256 keyed
    with SHA-256("nnrr.audit.national_id" + SECRET_KEY), as Django's salted_hmac builds it."""
    assert access.national_id_digest("01017012345") == (
        "57b66fbbb55015d5715c30d7dfe97e5e5c60041788888436c6eed2d0e0d4177c"
    )
