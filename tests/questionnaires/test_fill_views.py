"""Filling the Behandlerskjema: drafts, Ferdigstill with missing-item links, read-only after,
conflicts between two editors, and return to draft by the Lokal registeransvarlig."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.audit.models import AuditEvent
from nnrr.lib.dates import oslo_date
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response, Source
from nnrr.scheduling import services
from nnrr.scheduling.models import Order
from tests.conftest import (
    ST_OLAVS,
    book,
    complete_pre_treatment,
    make_patient,
)
from tests.questionnaires.helpers import as_post, complete_answers


@pytest.fixture
def draft(persona: Any) -> Response:
    course = book(
        persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1, referral_days_ago=30
    )
    return Response.objects.get(course=course, kind=FormKind.CLINICIAN)


def fill_url(response: Response) -> str:
    return reverse("questionnaires:fill", args=[response.pk])


def today() -> dt.date:
    return oslo_date(timezone.now())


def test_fill_page_shows_every_section_with_help(as_persona: Any, draft: Response) -> None:
    html = as_persona("clinician").get(fill_url(draft)).content.decode()
    assert "Besøksdato" in html
    assert "Vis hjelp for" in html
    assert "Ferdigstill" in html and "Avslutt skjemautfylling" in html
    for section in get_definition("1b").sections:
        assert f'id="section-{section.id}"' in html


def test_avslutt_skjemautfylling_saves_a_partial_draft(as_persona: Any, draft: Response) -> None:
    response = as_persona("clinician").post(
        fill_url(draft),
        {
            "version": draft.version,
            "action": "save",
            "S1b_DateOfCompletion": today().isoformat(),
            "BackSurgery": "2",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD
    assert draft.answers["BackSurgery"] == 2
    assert draft.answers["S1b_DateOfCompletion"] == today().isoformat()


def test_ferdigstill_with_missing_items_lists_them_as_links_and_keeps_the_draft(
    as_persona: Any, draft: Response
) -> None:
    response = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", "BackSurgery": "2"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Skjemaet kan ikke ferdigstilles" in html
    assert 'href="#item-S1b_DateOfCompletion"' in html
    assert 'href="#item-DiagnosticNumber1"' in html
    assert 'id="item-S1b_DateOfCompletion"' in html  # the target the link jumps to
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD
    assert draft.answers["BackSurgery"] == 2  # what was filled in is not lost


def test_ferdigstill_completes_and_plans_follow_ups_for_a_consenting_patient(
    as_persona: Any, draft: Response
) -> None:
    answers_1a = complete_answers(get_definition("1a"))
    services.submit_patient_form(
        actor=Actor.system(),
        course=draft.course,
        kind="1a",
        answers=answers_1a,
        consent=True,
        source=Source.PAPER,
        now=timezone.now(),
    )
    answers = complete_answers(get_definition("1b"), visit=today())
    response = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.completed_at is not None
    assert draft.answers["DiagnosticNumber1"] == "M545"
    assert draft.answers["DiagnosticNumber1Type"] == 20
    kinds = set(Order.objects.filter(course=draft.course).values_list("kind", flat=True))
    assert {"2", "3"} <= kinds
    assert AuditEvent.objects.filter(action="nnrr.form.completed", object_id=str(draft.pk)).exists()
    # Read-only afterwards: the fill page sends the user to the read view.
    again = as_persona("clinician").get(fill_url(draft))
    assert again.status_code == 302
    assert again["Location"] == reverse("questionnaires:response", args=[draft.pk])
    post = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "save"}
    )
    assert post.status_code == 302
    draft.refresh_from_db()
    assert draft.answers["DiagnosticNumber1"] == "M545"


def test_no_follow_ups_without_consent(as_persona: Any, draft: Response) -> None:
    answers = complete_answers(get_definition("1b"), visit=today())
    as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert not Order.objects.filter(course=draft.course, kind__in=["2", "3"]).exists()


@pytest.mark.parametrize(
    ("visit", "message"),
    [(1, "kan ikke være i fremtiden"), (-400, "kan ikke være før henvisningsdato")],
)
def test_besoksdato_rules(as_persona: Any, draft: Response, visit: int, message: str) -> None:
    answers = complete_answers(get_definition("1b"), visit=today() + dt.timedelta(days=visit))
    response = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    assert message in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("BackSurgery", "9", "Velg et av svaralternativene"),
        ("S1b_DateOfCompletion", "32.13.2026", "gyldig dato"),
        ("DiagnosticNumber1", "XX9", "ikke en gyldig ICD-10-kode"),
    ],
)
def test_invalid_values_get_a_message_tied_to_the_item(
    as_persona: Any, draft: Response, field: str, value: str, message: str
) -> None:
    response = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "save", field: value}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert f'href="#item-{field}"' in html
    assert f'id="item-{field}-error"' in html


def test_first_diagnosis_outside_neck_and_back_shows_the_manuals_warning(
    as_persona: Any, draft: Response
) -> None:
    response = as_persona("clinician").post(
        fill_url(draft),
        {"version": draft.version, "action": "complete", "DiagnosticNumber1": "J45.9"},
    )
    assert "nakke- eller ryggrelatert" in response.content.decode()


def test_second_editor_gets_a_conflict_and_nothing_is_overwritten(
    as_persona: Any, draft: Response
) -> None:
    first, second = as_persona("clinician"), as_persona("clerk")
    version = draft.version
    first.post(fill_url(draft), {"version": version, "action": "save", "BackSurgery": "1"})
    response = second.post(
        fill_url(draft), {"version": version, "action": "save", "BackSurgery": "2"}
    )
    assert response.status_code == 409
    assert "Noen andre har lagret" in response.content.decode()
    draft.refresh_from_db()
    assert draft.answers["BackSurgery"] == 1
    assert AuditEvent.objects.filter(action="nnrr.form.save_conflict").exists()


def test_return_to_draft_needs_a_local_registry_coordinator_and_a_reason(
    as_persona: Any, draft: Response
) -> None:
    answers = complete_answers(get_definition("1b"), visit=today())
    as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    url = reverse("questionnaires:return", args=[draft.pk])
    assert as_persona("clinician").post(url, {"reason": "Feil diagnose"}).status_code == 403
    admin = as_persona("local_admin")
    refused = admin.post(url, {"reason": ""})
    assert "begrunnelse" in refused.content.decode()
    admin.post(url, {"reason": "Feil diagnose registrert"})
    draft.refresh_from_db()
    assert draft.status == FormStatus.RETURNERT
    event = AuditEvent.objects.get(action="nnrr.form.returned")
    # The free-text reason is kept with the form, not in the audit log.
    assert event.detail == {"reason_given": True}
    assert "Feil diagnose" not in str(event.detail)
    page = as_persona("clinician").get(fill_url(draft))
    assert page.status_code == 200
    assert "Feil diagnose registrert" in page.content.decode()


def test_patient_forms_cannot_be_opened_in_the_staff_fill_page(
    as_persona: Any, draft: Response
) -> None:
    answers = complete_answers(get_definition("1a"))
    form = services.submit_patient_form(
        actor=Actor.system(),
        course=draft.course,
        kind="1a",
        answers=answers,
        consent=True,
        source=Source.PAPER,
        now=timezone.now(),
    )
    assert as_persona("clinician").get(fill_url(form)).status_code == 404


@pytest.mark.parametrize("role", ["exporter", "report_reader", "national_admin"])
def test_roles_without_form_rights_cannot_open_forms(
    as_persona: Any, draft: Response, role: str
) -> None:
    assert as_persona(role).get(fill_url(draft)).status_code == 403
    assert (
        as_persona(role).get(reverse("questionnaires:response", args=[draft.pk])).status_code == 403
    )


def test_diagnosis_picker_partials_search_and_browse_the_nnrr_groups(as_persona: Any) -> None:
    client = as_persona("clinician")
    found = client.get(
        reverse("questionnaires:diagnosis_search"), {"q": "lumbago", "target": "DiagnosticNumber1"}
    ).content.decode()
    assert 'data-code="M54.5"' in found
    assert 'data-set-diagnosis="DiagnosticNumber1"' in found
    groups = client.get(
        reverse("questionnaires:diagnosis_groups"), {"target": "DiagnosticNumber1"}
    ).content.decode()
    assert "Nakke" in groups and "Rygg" in groups
    assert reverse("questionnaires:diagnosis_group", args=[20]) in groups
    group = client.get(
        reverse("questionnaires:diagnosis_group", args=[20]), {"target": "DiagnosticNumber1"}
    ).content.decode()
    assert 'data-code="M54.5"' in group
    assert 'data-group="20"' in group
    assert client.get(reverse("questionnaires:diagnosis_group", args=[77])).status_code == 404
    hostile = client.get(
        reverse("questionnaires:diagnosis_search"), {"q": "m54", "target": 'x"><script>'}
    ).content.decode()
    assert "<script>" not in hostile


def test_the_picker_finds_a_neoplasm_by_its_norwegian_name(as_persona: Any) -> None:
    client = as_persona("clinician")
    found = client.get(
        reverse("questionnaires:diagnosis_search"),
        {"q": "ryggsøyle", "target": "DiagnosticNumber1"},
    ).content.decode()
    assert 'data-code="C41.2"' in found
    assert 'data-name="Ondartet svulst i ryggsøyle"' in found
    # The neoplasm group lists all its codes (about 500, to the last) with Norwegian names,
    # none marked as English.
    group = client.get(
        reverse("questionnaires:diagnosis_group", args=[23]), {"target": "DiagnosticNumber1"}
    ).content.decode()
    assert 'data-code="C00.0" data-name="Ondartet svulst på utside av overleppe"' in group
    assert 'data-code="C97"' in group
    assert group.count("data-set-diagnosis=") == len(diagnoses.codes_in_group(23)) > 300
    assert "engelsk navn" not in group
    # A code outside the official Norwegian list keeps its marked English title.
    english = client.get(
        reverse("questionnaires:diagnosis_search"), {"q": "T36.0", "target": "DiagnosticNumber4"}
    ).content.decode()
    assert "Poisoning: Penicillins" in english and "engelsk navn" in english


# --- Saved as the user types ("Lagret kl. 10:42") ------------------------------------------------


def autosave_url(response: Response) -> str:
    return reverse("questionnaires:autosave", args=[response.pk])


def test_autosave_stores_what_is_typed_and_says_when(as_persona: Any, draft: Response) -> None:
    before = draft.version
    response = as_persona("clinician").post(
        autosave_url(draft),
        {"version": before, "BackSurgery": "2", "S1b_DateOfCompletion": today().isoformat()},
    )
    assert response.status_code == 200
    assert response["X-NNRR-Autosave"] == "saved"
    html = response.content.decode()
    draft.refresh_from_db()
    assert draft.answers["BackSurgery"] == 2
    assert draft.answers["S1b_DateOfCompletion"] == today().isoformat()
    assert draft.status == FormStatus.KLADD
    saved_at = timezone.localtime(draft.last_update).strftime("%H:%M")
    assert f"Lagret kl. {saved_at}" in html
    # The page gets the draft's new version, so its next save is not taken for someone else's.
    assert draft.version == before + 1
    assert f'id="form-version" value="{draft.version}" hx-swap-oob="true"' in html
    assert AuditEvent.objects.filter(action="nnrr.form.saved", object_id=str(draft.pk)).count() == 1


def test_autosave_without_a_change_writes_nothing(as_persona: Any, draft: Response) -> None:
    client = as_persona("clinician")
    client.post(autosave_url(draft), {"version": draft.version, "BackSurgery": "2"})
    draft.refresh_from_db()
    version = draft.version
    again = client.post(autosave_url(draft), {"version": version, "BackSurgery": "2"})
    assert again["X-NNRR-Autosave"] == "saved"
    draft.refresh_from_db()
    assert draft.version == version
    assert AuditEvent.objects.filter(action="nnrr.form.saved").count() == 1


def test_autosave_names_an_invalid_answer_and_keeps_the_rest(
    as_persona: Any, draft: Response
) -> None:
    future = (today() + dt.timedelta(days=3)).isoformat()
    response = as_persona("clinician").post(
        autosave_url(draft),
        {"version": draft.version, "BackSurgery": "1", "S1b_DateOfCompletion": future},
    )
    html = response.content.decode()
    assert "Ikke lagret, fordi svaret er ugyldig: Besøksdato." in html
    draft.refresh_from_db()
    assert draft.answers["BackSurgery"] == 1
    assert "S1b_DateOfCompletion" not in draft.answers


def test_autosave_over_someone_elses_save_is_refused(as_persona: Any, draft: Response) -> None:
    client = as_persona("clinician")
    stale = draft.version
    client.post(autosave_url(draft), {"version": stale, "BackSurgery": "2"})
    refused = client.post(autosave_url(draft), {"version": stale, "BackSurgery": "1"})
    assert refused.status_code == 200
    assert refused["X-NNRR-Autosave"] == "conflict"
    assert "Endringene dine er ikke lagret" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.answers["BackSurgery"] == 2


def test_autosave_of_a_completed_form_changes_nothing(as_persona: Any, draft: Response) -> None:
    Response.objects.filter(pk=draft.pk).update(status=FormStatus.FERDIGSTILT)
    response = as_persona("clinician").post(
        autosave_url(draft), {"version": draft.version, "BackSurgery": "1"}
    )
    assert response["X-NNRR-Autosave"] == "completed"
    assert "Skjemaet er ferdigstilt og kan ikke endres" in response.content.decode()
    draft.refresh_from_db()
    assert "BackSurgery" not in draft.answers


def test_autosave_is_a_post_for_the_behandlerskjema_of_ones_own_unit(
    as_persona: Any, draft: Response
) -> None:
    assert as_persona("clinician").get(autosave_url(draft)).status_code == 405
    other = as_persona("haukeland_clinician").post(
        autosave_url(draft), {"version": draft.version, "BackSurgery": "1"}
    )
    assert other.status_code in (403, 404)
    draft.refresh_from_db()
    assert "BackSurgery" not in draft.answers


def test_the_fill_page_saves_as_the_user_types(as_persona: Any, draft: Response) -> None:
    html = as_persona("clinician").get(fill_url(draft)).content.decode()
    assert f'hx-post="{autosave_url(draft)}"' in html
    assert 'id="autosave-status"' in html
    assert f'id="form-version" value="{draft.version}"' in html


@pytest.mark.parametrize(
    ("view", "action"),
    [
        ("questionnaires:response", "nnrr.form.viewed"),
        ("questionnaires:journal", "nnrr.form.journal_note_viewed"),
    ],
)
def test_reading_a_patient_form_writes_its_audit_event(
    as_persona: Any, persona: Any, view: str, action: str
) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = complete_pre_treatment(course)
    response = as_persona("clerk").get(reverse(view, args=[form.pk]))
    assert response.status_code == 200
    event = AuditEvent.objects.get(action=action)
    assert event.patient_id == course.patient_id
    assert event.object_id == str(form.pk)
    assert event.actor_id == persona("clerk").user.pk


def test_opening_the_fill_page_writes_its_audit_event(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    form = Response.objects.get(course=course, kind=FormKind.CLINICIAN)
    assert (
        as_persona("clerk").get(reverse("questionnaires:fill", args=[form.pk])).status_code == 200
    )
    event = AuditEvent.objects.get(action="nnrr.form.opened")
    assert event.patient_id == course.patient_id
    assert event.object_id == str(form.pk)


def test_help_bubbles_only_where_there_is_help_to_give(as_persona: Any, draft: Response) -> None:
    """A checkbox option whose help would only say its own name again ("Lege deltok i
    utredningen") has no "?" button; one whose help explains something keeps it."""
    html = as_persona("clinician").get(fill_url(draft)).content.decode()
    bubbles = html.count('<details class="app-help">')
    definition = get_definition("1b")
    with_help = sum(bool(i.help) for i in definition.items()) + sum(
        bool(g.help) for g in definition.groups()
    )
    assert bubbles == with_help
    assert "Vis hjelp for Lege<" not in html and "Vis hjelp for Skiveprolaps<" not in html
    assert "Vis hjelp for A-preparater" in html  # says what an A-preparat is
