"""Bad input of every kind gets a clear message, never a 500 (issue 7's fuzzing findings)."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from nnrr.lib.ids import parse_id
from nnrr.patients.models import Course
from nnrr.questionnaires.models import FormKind, Response
from tests.conftest import ST_OLAVS, book, make_patient

BAD_IDS = ["²", "١٢", "𝟗", "9" * 40, "18446744073709551616", "-3", "0", " ", "1e3", "0x10"]


@pytest.mark.parametrize("raw", BAD_IDS)
def test_parse_id_refuses_unicode_digits_and_numbers_beyond_a_column(raw: str) -> None:
    assert parse_id(raw) is None


def test_parse_id_reads_plain_ids() -> None:
    assert parse_id("42") == 42
    assert parse_id(" 7 ") == 7
    assert parse_id(str(2**63 - 1)) == 2**63 - 1
    assert parse_id(str(2**63)) is None


@pytest.mark.parametrize("raw", BAD_IDS)
def test_endre_eier_with_a_malformed_owner_id_asks_for_a_user(
    as_persona: Any, persona: Any, raw: str
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    response = as_persona("clerk").post(
        reverse("patients:course_owner", args=[course.pk]), {"owner": raw}
    )
    assert response.status_code == 200
    assert "Velg en bruker ved enheten" in response.content.decode()
    assert Course.objects.get(pk=course.pk).owner == persona("clerk").user


@pytest.mark.parametrize("raw", BAD_IDS)
def test_audit_log_filter_with_a_malformed_user_id_shows_the_page(
    as_persona: Any, raw: str
) -> None:
    response = as_persona("local_admin").get(reverse("audit:log"), {"user": raw})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("referral", "planned"),
    [
        ("0001-01-01", "0001-01-02"),
        ("2020-01-01", "9999-12-31"),
        ("01.01.1899", "01.02.1899"),
        ("2020-01-01", "01.01.2101"),
    ],
)
def test_booking_dates_outside_1900_to_2100_are_refused_with_a_message(
    as_persona: Any, referral: str, planned: str
) -> None:
    patient = make_patient(ST_OLAVS)
    response = as_persona("clerk").post(
        reverse("patients:create_clinician_form", args=[patient.pk]),
        {"referral_date": referral, "planned_consultation_date": planned},
    )
    assert response.status_code == 200
    assert "Datoen må være mellom 01.01.1900 og 31.12.2100." in response.content.decode()
    assert not Course.objects.filter(patient=patient).exists()


def test_a_visit_date_in_year_9999_is_refused_with_a_message(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    response = as_persona("clerk").post(
        reverse("questionnaires:fill", args=[form.pk]),
        {"version": str(form.version), "action": "complete", "S1b_DateOfCompletion": "9999-12-31"},
    )
    assert response.status_code == 200
    assert "Datoen må være mellom 01.01.1900 og 31.12.2100." in response.content.decode()


def test_a_birth_date_in_year_1_at_the_portal_is_a_clear_error(db: Any) -> None:
    from django.test import Client

    response = Client().post(
        reverse("portal:start"), {"code": "ACDE-FHJK", "birth_date": "01.01.0001"}
    )
    assert response.status_code == 200
    assert "Skriv fødselsdatoen med dag, måned og år" in response.content.decode()


def test_nul_bytes_in_text_fields_are_stripped_not_stored_or_a_500(
    as_persona: Any, persona: Any
) -> None:
    """PostgreSQL refuses NUL in text and JSON; no field may pass one through (this test also
    runs in the PostgreSQL suite)."""
    client = as_persona("clerk")
    patient = make_patient(ST_OLAVS, email="")
    response = client.post(
        reverse("patients:contact", args=[patient.pk]),
        {"email": "ola\x00@example.no", "mobile": "123\x0045678"},
    )
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.mobile == "12345678"
    course = book(persona("clerk"), patient)
    response = client.post(
        reverse("patients:course_delete", args=[course.pk]), {"reason": "ikke\x00 møtt"}
    )
    assert response.status_code == 302
    assert Course.objects.get(pk=course.pk).deleted_reason == "ikke møtt"


def test_nul_bytes_in_free_text_answers_are_stripped(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    response = as_persona("clerk").post(
        reverse("questionnaires:fill", args=[form.pk]),
        {"version": str(form.version), "action": "save", "Treatment_Other": "tekst\x00her"},
    )
    assert response.status_code in (200, 302)
    form.refresh_from_db()
    assert "\x00" not in str(form.answers)


def test_nul_bytes_in_a_search_do_not_break_the_page(as_persona: Any) -> None:
    response = as_persona("clerk").post(reverse("patients:search"), {"national_id": "\x00" * 3})
    assert response.status_code == 200
    assert "Skriv inn et fødselsnummer (11 siffer)." in response.content.decode()
