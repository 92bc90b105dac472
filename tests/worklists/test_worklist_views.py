"""The four worklists and the red dot on the worklist button."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.patients.models import ConsentLogEntry
from nnrr.questionnaires import services as form_services
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, Response
from nnrr.scheduling import services
from nnrr.scheduling import services as scheduling
from tests.conftest import (
    HAUKELAND,
    ST_OLAVS,
    book,
    make_patient,
)
from tests.questionnaires.helpers import complete_answers


def test_mine_uferdige_skjema_lists_drafts_owned_by_me(as_persona: Any, persona: Any) -> None:
    mine = book(persona("clinician"), make_patient(ST_OLAVS, name="Min Pasient"))
    book(persona("clerk"), make_patient(ST_OLAVS, name="Annens Pasient"))
    html = as_persona("clinician").get(reverse("worklists:mine")).content.decode()
    assert "Min Pasient" in html
    assert "Annens Pasient" not in html
    assert mine.patient.national_id_formatted in html


def test_red_dot_shows_when_something_waits(as_persona: Any, persona: Any) -> None:
    client = as_persona("clinician")
    assert "app-dot" not in client.get(reverse("patients:front")).content.decode()
    book(persona("clinician"), make_patient(ST_OLAVS))
    assert "app-dot" in client.get(reverse("patients:front")).content.decode()


def test_red_dot_on_every_page_is_mine_at_the_active_unit(as_persona: Any, persona: Any) -> None:
    """Other pages read the dot with the active profile: my unfinished forms at this unit, not a
    colleague's and not another unit's."""
    client = as_persona("clinician")
    pages = [reverse("worklists:mine"), reverse("worklists:unit")]
    book(persona("clerk"), make_patient(ST_OLAVS))  # a colleague's
    book(persona("haukeland_clinician"), make_patient(HAUKELAND))  # another unit's
    for url in pages:
        assert "app-dot" not in client.get(url).content.decode(), url
    course = book(persona("clinician"), make_patient(ST_OLAVS))
    for url in [*pages, reverse("patients:detail", args=[course.patient_id])]:
        assert "app-dot" in client.get(url).content.decode(), url


def test_utgatt_planlagt_konsultasjonsdato_lists_drafts_past_their_date(
    as_persona: Any, persona: Any
) -> None:
    book(
        persona("clerk"),
        make_patient(ST_OLAVS, name="Passert Dato"),
        planned_in_days=-3,
        referral_days_ago=40,
    )
    book(persona("clerk"), make_patient(ST_OLAVS, name="Fremtidig Dato"), planned_in_days=10)
    html = as_persona("clinician").get(reverse("worklists:overdue")).content.decode()
    assert "Passert Dato" in html
    assert "Fremtidig Dato" not in html


def test_avdelingens_uferdige_lists_only_the_units_drafts(as_persona: Any, persona: Any) -> None:
    book(persona("clerk"), make_patient(ST_OLAVS, name="Olavs Pasient"))
    book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Bergen Pasient"))
    html = as_persona("clinician").get(reverse("worklists:unit")).content.decode()
    assert "Olavs Pasient" in html
    assert "Bergen Pasient" not in html


def test_pasienter_uten_samtykke_lists_waiting_and_deleted(as_persona: Any, persona: Any) -> None:
    clerk = persona("clerk")
    waiting = book(clerk, make_patient(ST_OLAVS, name="Venter Svar"), planned_in_days=30)
    deleted = book(clerk, make_patient(ST_OLAVS, name="Slettet Uten"), planned_in_days=30)
    services.delete_course(actor=clerk.actor, course=deleted, reason="Avlyst", now=timezone.now())
    html = as_persona("clinician").get(reverse("worklists:consent")).content.decode()
    assert waiting.patient.name in html
    assert "Slettet Uten" in html
    assert "Skjema slettet av enheten" in html


@pytest.mark.parametrize("name", ["index", "mine", "overdue", "unit", "consent"])
@pytest.mark.parametrize("role", ["exporter", "report_reader"])
def test_roles_without_form_rights_have_no_worklists(as_persona: Any, name: str, role: str) -> None:
    assert as_persona(role).get(reverse(f"worklists:{name}")).status_code == 403


def test_a_returned_form_shows_its_reason_in_the_worklist_row(
    persona: Any, as_persona: Any
) -> None:
    clinician = persona("clinician")
    course = book(clinician, make_patient(ST_OLAVS, name="Rita Returnert"), planned_in_days=-1)
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    form = scheduling.complete_clinician_form(
        actor=clinician.actor,
        response=form,
        answers=complete_answers(get_definition("1b")),
        expected_version=form.version,
        now=timezone.now(),
    )
    form_services.return_to_draft(
        actor=persona("local_admin").actor,
        response=form,
        reason="Diagnose 1 skal være M54.4, ikke M54.5",
        now=timezone.now(),
    )
    html = as_persona("clinician").get(reverse("worklists:mine")).content.decode()
    row = html.split("Rita Returnert", 1)[1].split("</tr>", 1)[0]
    assert "Returnert" in row
    assert "Diagnose 1 skal være M54.4, ikke M54.5" in row
    # And on the returned form itself.
    page = as_persona("clinician").get(reverse("questionnaires:response", args=[form.pk]))
    assert "Diagnose 1 skal være M54.4, ikke M54.5" in page.content.decode()


def test_worklist_rows_offer_slett_skjema_and_come_back_to_the_worklist(
    persona: Any, as_persona: Any
) -> None:
    clinician = persona("clinician")
    course = book(clinician, make_patient(ST_OLAVS, name="Siri Sletting"), planned_in_days=3)
    client = as_persona("clinician")
    worklist = reverse("worklists:mine")
    html = client.get(worklist).content.decode()
    row = html.split("Siri Sletting", 1)[1].split("</tr>", 1)[0]
    delete_url = reverse("patients:course_delete", args=[course.pk])
    assert f"{delete_url}?back=/arbeidsliste/" in row or f"{delete_url}?back=" in row
    assert "Slett skjema" in row
    response = client.post(delete_url, {"reason": "Pasienten møtte ikke", "back": worklist})
    assert response.status_code == 302
    assert response["Location"] == worklist
    # A "back" that leaves the site is ignored.
    other = book(clinician, make_patient(ST_OLAVS), planned_in_days=3)
    response = client.post(
        reverse("patients:course_delete", args=[other.pk]),
        {"reason": "Avlyst", "back": "https://evil.example/"},
    )
    assert response["Location"] == reverse("patients:detail", args=[other.patient_id])


def test_endre_eier_from_a_worklist_goes_back_to_it_also_after_a_search(
    persona: Any, as_persona: Any
) -> None:
    clinician = persona("clinician")
    clerk = persona("clerk")
    course = book(clinician, make_patient(ST_OLAVS, name="Eva Eierskifte"), planned_in_days=3)
    client = as_persona("clinician")
    worklist = reverse("worklists:unit")
    url = reverse("patients:course_owner", args=[course.pk])
    searched = client.get(url, {"q": clerk.user.full_name[:4], "back": worklist}).content.decode()
    assert f'name="back" value="{worklist}"' in searched
    response = client.post(url, {"owner": str(clerk.user.pk), "back": worklist})
    assert response["Location"] == worklist


def test_pasienter_uten_samtykke_pages_the_waiting_patients_50_at_a_time(
    persona: Any, as_persona: Any
) -> None:
    clerk = persona("clerk")
    for n in range(51):
        # The list is in planned date order: the last one booked comes last, on page 2.
        book(clerk, make_patient(ST_OLAVS, name=f"Venter {n:02d}"), planned_in_days=20 + n)
    client = as_persona("clinician")
    first = client.get(reverse("worklists:consent")).content.decode()
    assert "Venter 00" in first and "Venter 49" in first
    assert "Venter 50" not in first
    assert "1 / 2" in first
    assert "?page=2&amp;logg=1" in first
    second = client.get(reverse("worklists:consent"), {"page": "2"}).content.decode()
    assert "Venter 50" in second
    assert "Venter 00" not in second


def test_the_consent_log_pages_newest_first_with_forrige_and_neste(
    persona: Any, as_persona: Any
) -> None:
    from nnrr.patients.models import ConsentLogEntry

    start = timezone.now() - dt.timedelta(days=100)
    ConsentLogEntry.objects.bulk_create(
        ConsentLogEntry(
            national_id=f"0101805{n:04d}",
            name=f"Slettet {n:02d}",
            unit_id=ST_OLAVS,
            reason=ConsentLogEntry.Reason.NO_CONSENT,
            recorded_at=start + dt.timedelta(days=n),
        )
        for n in range(52)
    )
    client = as_persona("clinician")
    first = client.get(reverse("worklists:consent")).content.decode()
    assert "Slettet 51" in first and "Slettet 02" in first  # the newest 50
    assert "Slettet 01" not in first
    assert "?page=1&amp;logg=2" in first
    second = client.get(reverse("worklists:consent"), {"logg": "2"}).content.decode()
    assert "Slettet 01" in second and "Slettet 00" in second
    assert "Slettet 02" not in second
    assert "?page=1&amp;logg=1" in second  # Forrige
    # A page number that is not one, or far beyond the end, is never an error.
    for bad in ("x", "-3", "0", "99999999999"):
        response = client.get(reverse("worklists:consent"), {"logg": bad, "page": bad})
        assert response.status_code == 200


# The queries of a worklist page: the session, the user, the profile (with the red dot), the
# list's count and its page (the consent list: the waiting count, its page and the log's page),
# the audit row.
WORKLIST_QUERIES = {"worklists:mine": 6, "worklists:unit": 6, "worklists:consent": 7}


@pytest.mark.parametrize("rows", [2, 50])
@pytest.mark.parametrize("url", list(WORKLIST_QUERIES))
def test_a_worklist_page_takes_the_same_queries_for_two_rows_as_for_fifty(
    as_persona: Any, persona: Any, django_assert_num_queries: Any, url: str, rows: int
) -> None:
    """The rows read only the fields they show: a field a row needs but the page did not load
    would cost one query per row."""
    client = as_persona("clinician")
    client.get(reverse(url))  # the session's first request of the test writes more
    for _ in range(rows):
        book(persona("clinician"), make_patient(ST_OLAVS))
    with django_assert_num_queries(WORKLIST_QUERIES[url]):
        response = client.get(reverse(url))
    assert response.status_code == 200
    assert response.content.decode().count('class="ds-link" href="/pasient/') >= rows


def test_consent_log_does_not_list_other_units_patients(as_persona: Any, persona: Any) -> None:
    olavs = book(persona("clerk"), make_patient(ST_OLAVS, name="Olav Egen"))
    bergen = book(persona("haukeland_clinician"), make_patient(HAUKELAND, name="Berit Annen"))
    for course, who in ((olavs, "clerk"), (bergen, "haukeland_clinician")):
        scheduling.delete_course(
            actor=persona(who).actor, course=course, reason="møtte ikke", now=timezone.now()
        )
    assert ConsentLogEntry.objects.count() == 2

    html = as_persona("clerk").get(reverse("worklists:consent")).content.decode()

    assert "Olav Egen" in html
    assert "Berit Annen" not in html


def test_arbeidsliste_opens_the_first_list_with_rows(as_persona: Any, persona: Any) -> None:
    client = as_persona("clinician")
    assert client.get(reverse("worklists:index"))["Location"] == reverse("worklists:mine")
    # A colleague's draft past its date: "Mine" is empty, the overdue list is not.
    book(persona("clerk"), make_patient(ST_OLAVS), planned_in_days=-3, referral_days_ago=40)
    opened = client.get(reverse("worklists:index"), follow=True)
    assert opened.redirect_chain == [(reverse("worklists:overdue"), 302)]
    assert "Utgått planlagt konsultasjonsdato" in opened.content.decode()
    book(persona("clinician"), make_patient(ST_OLAVS))
    assert client.get(reverse("worklists:index"))["Location"] == reverse("worklists:mine")


def test_each_worklist_row_links_to_its_own_patient_form_and_course(
    persona: Any, as_persona: Any
) -> None:
    clinician = persona("clinician")
    courses = [
        book(clinician, make_patient(ST_OLAVS, name=name), planned_in_days=3)
        for name in ("Rad Første", "Rad Andre")
    ]
    html = as_persona("clinician").get(reverse("worklists:mine")).content.decode()
    for course in courses:
        row = html.split(course.patient.name, 1)[0].rsplit("<tr>", 1)[1]
        row += html.split(course.patient.name, 1)[1].split("</tr>", 1)[0]
        form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
        assert f'href="{reverse("patients:detail", args=[course.patient_id])}"' in row
        assert f'href="{reverse("questionnaires:fill", args=[form.pk])}"' in row
        assert f'href="{reverse("patients:course_owner", args=[course.pk])}?back=' in row
        assert f'href="{reverse("patients:course_delete", args=[course.pk])}?back=' in row


def test_each_waiting_patient_links_to_its_own_patient_page(persona: Any, as_persona: Any) -> None:
    clerk = persona("clerk")
    courses = [
        book(clerk, make_patient(ST_OLAVS, name=name), planned_in_days=20 + n)
        for n, name in enumerate(("Venter Første", "Venter Andre"))
    ]
    html = as_persona("clinician").get(reverse("worklists:consent")).content.decode()
    for course in courses:
        link = f'<a class="ds-link" href="{reverse("patients:detail", args=[course.patient_id])}">'
        assert f"{link}{course.patient.name}</a>" in html
