"""The neck/back rule and the Norwegian ICD-10: ``lookup`` over the registry's observed codes,
the related set from its data file, the warning when Diagnose 1 is chosen, the confirmation on
Ferdigstill, and the rules inside ``complete_clinician_form`` for every caller."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.lib.dates import oslo_date
from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.definitions import get_definition
from nnrr.questionnaires.models import FormKind, FormStatus, Response
from nnrr.questionnaires.validation import CompletionRefused, parse_submission
from nnrr.scheduling import services as scheduling
from tests.conftest import ST_OLAVS, book, make_patient
from tests.questionnaires.helpers import as_post, complete_answers

OBSERVED = Path(diagnoses.__file__).parent / "data" / "icd10-nnrr-observed-2016.csv"


def observed_rows() -> list[dict[str, str]]:
    lines = [line for line in OBSERVED.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    return list(csv.DictReader(lines))


# --- lookup and the Norwegian ICD-10 --------------------------------------------------------------


def test_lookup_accepts_every_code_the_registry_stored_with_its_norwegian_name() -> None:
    rows = observed_rows()
    assert len(rows) > 100
    for row in rows:
        found = diagnoses.lookup(row["code"])
        assert found is not None, row["code"]
        assert found.code == row["code"]  # stored as the datadumps hold it
        if row["name_nb"]:
            assert found.name_nb == row["name_nb"]
            assert not found.name_is_fallback
        # The dotted form, lower case and spaces are the same code.
        assert diagnoses.lookup(f" {found.display.lower()} ") == found
        assert diagnoses.validate_code(found.display).code == row["code"]


@pytest.mark.parametrize("raw", ["M54.96", "m5496", " M54.96 ", "m54.96", "M 54.96"])
def test_lookup_takes_every_usual_spelling(raw: str) -> None:
    found = diagnoses.lookup(raw)
    assert found is not None
    assert (found.code, found.display) == ("M5496", "M54.96")
    assert found.name_nb == "Uspesifisert ryggsmerte;lumbal"
    assert found.neck_back_related
    assert found.groups == ()


@pytest.mark.parametrize("raw", ["", "   ", "M99.999", "X", "M5A", "Q99.99", "zz"])
def test_lookup_of_an_unknown_code_is_none(raw: str) -> None:
    assert diagnoses.lookup(raw) is None


def test_site_subdivisions_of_chapter_xiii_are_accepted_with_norwegian_names() -> None:
    for raw, name in [
        ("M54.20", "Nakkesmerte;fler lokal column"),  # the registry's own name
        ("M43.16", "Spondylolistese;lumbal"),
        ("M79.10", None),
        ("M47.86", None),
        ("M51.1", "Lidelse i lumbalsk./mellomvirvelsk., m/radikulop. (G55.1*)"),
    ]:
        found = diagnoses.validate_code(raw)
        assert not found.name_is_fallback, raw
        if name:
            assert found.name_nb == name
    # The official list's own site code and name.
    assert diagnoses.lookup("M48.06").name_nb == "Spinal stenose;lumbal"  # type: ignore[union-attr]
    # A site we compose where the official list has none below the code (M54.3): the
    # four-character name and the site.
    assert diagnoses.lookup("M54.36").name_nb == "Isjialgi; lumbalregion"  # type: ignore[union-attr]
    # Disc disorders (M50–M51) take no site code; where the official list gives a code's sites,
    # those are all there is (M48.0 has no sakral code).
    assert diagnoses.lookup("M51.16") is None
    assert diagnoses.lookup("M48.08") is None


def test_every_code_of_the_dorsopathies_has_a_norwegian_name() -> None:
    unnamed = [
        code
        for code in diagnoses.all_codes()
        if "M40" <= code[:3] <= "M54" and diagnoses.lookup(code).name_is_fallback  # type: ignore[union-attr]
    ]
    assert unnamed == []


def test_english_title_is_only_a_marked_fallback() -> None:
    poisoning = diagnoses.lookup("T36.0")  # a WHO code outside the official Norwegian list
    assert poisoning is not None
    assert poisoning.name_is_fallback
    assert poisoning.name_nb == "Poisoning: Penicillins"


def test_groups_go_by_the_first_four_characters() -> None:
    assert diagnoses.lookup("M54.56").groups == (20,)  # type: ignore[union-attr]
    assert diagnoses.lookup("M47.26").groups == (11, 21)  # type: ignore[union-attr]
    assert diagnoses.lookup("M54.96").groups == ()  # type: ignore[union-attr]


# --- The neck/back related set -------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    # Wrongly treated as unrelated before; then one of each range of the data file.
    [
        *("M54.4", "M54.1", "M51.2", "M50.3", "M47.8", "M40.0", "M54.96", "G55.1", "G55.3"),
        *("G83.4", "S12.0", "S14.1", "S22.0", "S24.2", "S32.0", "S34.3", "M45", "C79.5", "M41.9"),
    ],
)
def test_neck_back_related_codes(code: str) -> None:
    assert diagnoses.is_neck_back_related(code)
    assert diagnoses.lookup(code).neck_back_related  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "code", ["M79.7", "M79.1", "G55.0", "G55.8", "S11.0", "S15.0", "M55", "J45.9"]
)
def test_codes_outside_the_set_are_not_related(code: str) -> None:
    assert not diagnoses.is_neck_back_related(code)


def test_the_rule_set_over_the_whole_observed_file() -> None:
    related_prefixes = ("M40", "M41", "M42", "M43", "M45", "M46", "M47", "M48", "M49")
    related_prefixes += ("M50", "M51", "M53", "M54", "S13", "G834")
    for row in observed_rows():
        code = row["code"]
        expected = code.startswith(related_prefixes)
        assert diagnoses.lookup(code).neck_back_related is expected, code  # type: ignore[union-attr]


def test_the_ranges_are_read_from_the_data_file() -> None:
    text = diagnoses.RELATED_FILE.read_text(encoding="utf-8")
    assert "from: M40, to: M54" in text
    ranges = diagnoses.load_ranges()
    assert any(r.low == "G551" and r.high == "G553" for r in ranges)


def test_a_changed_data_file_changes_the_rule(tmp_path: Path, monkeypatch: Any) -> None:
    changed = tmp_path / "related.yaml"
    changed.write_text("ranges:\n  - {from: M79, to: M79, name: test}\n", encoding="utf-8")
    monkeypatch.setattr(diagnoses, "RELATED_FILE", changed)
    diagnoses._index.cache_clear()
    try:
        assert diagnoses.is_neck_back_related("M79.7")
        assert not diagnoses.is_neck_back_related("M54.4")  # not a group code, range gone
        assert diagnoses.is_neck_back_related("M54.5")  # group 20 stays
    finally:
        monkeypatch.undo()
        diagnoses._index.cache_clear()
    assert not diagnoses.is_neck_back_related("M79.7")


# --- Picked group, name and the live checks ------------------------------------------------------


def test_the_picked_group_is_stored_not_a_guess() -> None:
    definition = get_definition("1b")
    parsed = parse_submission(
        definition,
        {"DiagnosticNumber1": "M47.2", "DiagnosticNumber1Type": "11"},
        sections=["diagnoses"],
    )
    assert parsed.answers["DiagnosticNumber1"] == "M472"
    assert parsed.answers["DiagnosticNumber1Type"] == 11
    assert parsed.answers["DiagnosticNumber1Name"] == "Annen spondylose med radikulopati"
    # A group the code is not in is not stored: the code's own group is.
    parsed = parse_submission(
        definition,
        {"DiagnosticNumber1": "M54.5", "DiagnosticNumber1Type": "11"},
        sections=["diagnoses"],
    )
    assert parsed.answers["DiagnosticNumber1Type"] == 20


def test_group_labels_are_names_not_numbers() -> None:
    assert (
        diagnoses.group_label(11)
        == "Nakke – med relatert nevrologisk dysfunksjon: Cervical radiculopati"
    )
    assert diagnoses.group_label(99) == "Tilleggsdiagnose"
    assert diagnoses.group_label(77) == ""


def test_a_repeated_code_is_refused_in_the_live_path() -> None:
    parsed = parse_submission(
        get_definition("1b"),
        {"DiagnosticNumber1": "M54.5", "DiagnosticNumber2": "m545"},
        sections=["diagnoses"],
    )
    assert parsed.errors["DiagnosticNumber2"] == "M54.5 er allerede registrert som diagnose 1."
    assert "DiagnosticNumber2" not in parsed.answers


def test_position_one_empty_with_others_filled_is_refused_in_the_live_path() -> None:
    parsed = parse_submission(
        get_definition("1b"), {"DiagnosticNumber3": "M54.5"}, sections=["diagnoses"]
    )
    assert "Diagnose 1 mangler" in parsed.errors["DiagnosticNumber1"]


# --- The warning at once, and the confirmation on Ferdigstill -------------------------------------


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


def test_choosing_an_unrelated_diagnose_1_warns_at_once(as_persona: Any) -> None:
    client = as_persona("clinician")
    url = reverse("questionnaires:diagnosis_check")
    html = client.get(url, {"target": "DiagnosticNumber1", "DiagnosticNumber1": "M79.7"}).content
    text = html.decode()
    assert "Fibromyalgi" in text
    assert "ikke klassifisert som nakke- eller ryggrelatert" in text
    assert "skal hen slettes fra registeret" in text
    # A related code, and an unrelated code at position 2: no warning.
    related = client.get(url, {"target": "DiagnosticNumber1", "DiagnosticNumber1": "m54.96"})
    assert "Uspesifisert ryggsmerte;lumbal" in related.content.decode()
    assert "ikke klassifisert" not in related.content.decode()
    second = client.get(url, {"target": "DiagnosticNumber2", "DiagnosticNumber2": "M79.7"})
    assert "ikke klassifisert" not in second.content.decode()
    # A bad code says so; no 500.
    bad = client.get(url, {"target": "DiagnosticNumber1", "DiagnosticNumber1": "M99.999"})
    assert bad.status_code == 200
    assert "ikke en gyldig ICD-10-kode" in bad.content.decode()


def test_the_check_shows_the_picked_group_by_name(as_persona: Any) -> None:
    html = (
        as_persona("clinician")
        .get(
            reverse("questionnaires:diagnosis_check"),
            {
                "target": "DiagnosticNumber1",
                "DiagnosticNumber1": "M47.2",
                "DiagnosticNumber1Type": "11",
            },
        )
        .content.decode()
    )
    assert "Nakke – med relatert nevrologisk dysfunksjon: Cervical radiculopati" in html


def test_the_code_field_asks_the_server_on_change(as_persona: Any, draft: Response) -> None:
    html = as_persona("clinician").get(fill_url(draft)).content.decode()
    assert reverse("questionnaires:diagnosis_check") + "?target=DiagnosticNumber1" in html
    assert 'name="DiagnosticNumber1Type"' in html


def test_saving_an_unrelated_diagnose_1_warns_on_a_plain_post(
    as_persona: Any, draft: Response
) -> None:
    client = as_persona("clinician")
    response = client.post(
        fill_url(draft),
        {"version": draft.version, "action": "save", "DiagnosticNumber1": "M79.7"},
        follow=True,
    )
    assert "ikke klassifisert som nakke- eller ryggrelatert" in response.content.decode()
    draft.refresh_from_db()
    assert draft.answers["DiagnosticNumber1"] == "M797"
    # Opening the draft again shows it too.
    assert "skal hen slettes fra registeret" in client.get(fill_url(draft)).content.decode()


def warned_token(html: str) -> str:
    """The signed digest «Ferdigstill likevel» posts back with the form."""
    found = re.search(r'name="warned" value="([^"]+)"', html)
    assert found is not None, "no «Ferdigstill likevel» on the page"
    return found.group(1)


def warn_about_m797(client: Any, draft: Response) -> tuple[dict[str, str], str]:
    """Ferdigstill with Diagnose 1 = M79.7: the warning; the posted form and its token."""
    answers = complete_answers(get_definition("1b"), visit=today())
    answers["DiagnosticNumber1"] = "M79.7"
    posted = {"version": str(draft.version), **as_post(answers)}
    response = client.post(fill_url(draft), {**posted, "action": "complete"})
    assert response.status_code == 200
    html = response.content.decode()
    draft.refresh_from_db()
    return {**posted, "version": str(draft.version)}, warned_token(html)


def test_ferdigstill_with_an_unrelated_diagnose_1_asks_to_confirm(
    as_persona: Any, draft: Response
) -> None:
    client = as_persona("clinician")
    answers = complete_answers(get_definition("1b"), visit=today())
    answers["DiagnosticNumber1"] = "M79.7"
    response = client.post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ferdigstill likevel" in html
    assert "skal pasienten slettes fra registeret" in html
    assert "M79.7 Fibromyalgi" in html
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD  # saved, not completed
    assert draft.answers["DiagnosticNumber1"] == "M797"

    # «Ferdigstill likevel» posts the form as it is on screen, with the warning's token.
    done = client.post(
        fill_url(draft),
        {
            "version": draft.version,
            **as_post(answers),
            "action": "complete_confirmed",
            "warned": warned_token(html),
        },
        follow=True,
    )
    assert "Meld fra til lokal registeransvarlig" in done.content.decode()
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M797"
    assert draft.answers["DiagnosticNumber1Name"] == "Fibromyalgi"


def test_ferdigstill_likevel_after_correcting_diagnose_1_completes_the_corrected_code(
    as_persona: Any, draft: Response
) -> None:
    """The issue's scenario: M79.7 → warning → «Endre diagnose 1» → M54.5 → the red «Ferdigstill
    likevel» still at the top: M54.5 is what is completed, never the M79.7 warned about."""
    client = as_persona("clinician")
    posted, token = warn_about_m797(client, draft)
    done = client.post(
        fill_url(draft),
        {**posted, "DiagnosticNumber1": "M54.5", "action": "complete_confirmed", "warned": token},
        follow=True,
    )
    html = done.content.decode()
    assert "Behandlerskjema er ferdigstilt og lagret i registeret." in html
    assert "Meld fra til lokal registeransvarlig" not in html  # M54.5 needs no report
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M545"
    assert draft.answers["DiagnosticNumber1Name"] == "Lumbago"


def test_a_confirmation_for_other_answers_is_refused_and_the_new_code_is_warned_about(
    as_persona: Any, draft: Response
) -> None:
    client = as_persona("clinician")
    posted, token = warn_about_m797(client, draft)
    # Another code that is not neck or back related: the confirmation of M79.7 does not cover it.
    refused = client.post(
        fill_url(draft),
        {**posted, "DiagnosticNumber1": "M79.1", "action": "complete_confirmed", "warned": token},
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "bekreftelsen gjaldt ikke lenger. Skjemaet er ikke ferdigstilt." in html
    assert "Diagnose 1 er M79.1" in html
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD
    assert draft.answers["DiagnosticNumber1"] == "M791"  # what is on screen is kept in the draft
    # A new warning, a new token: that one completes M79.1.
    client.post(
        fill_url(draft),
        {
            **posted,
            "version": draft.version,
            "DiagnosticNumber1": "M79.1",
            "action": "complete_confirmed",
            "warned": warned_token(html),
        },
    )
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M791"


@pytest.mark.parametrize("token", ["", "forged", "tampered"])
def test_a_confirmation_without_a_valid_token_completes_nothing(
    as_persona: Any, draft: Response, token: str
) -> None:
    client = as_persona("clinician")
    posted, real = warn_about_m797(client, draft)
    if token == "tampered":
        token = real[:-2] + ("AA" if not real.endswith("AA") else "BB")
    refused = client.post(
        fill_url(draft),
        {**posted, "action": "complete_confirmed", "confirm_not_neck_back": "1", "warned": token},
    )
    assert refused.status_code == 200
    assert "bekreftelsen gjaldt ikke lenger" in refused.content.decode()
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD


def test_a_confirmation_is_for_the_form_it_was_given_on(
    as_persona: Any, persona: Any, draft: Response
) -> None:
    client = as_persona("clinician")
    posted, token = warn_about_m797(client, draft)
    other_course = book(
        persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1, referral_days_ago=30
    )
    other = Response.objects.get(course=other_course, kind=FormKind.CLINICIAN)
    client.post(
        fill_url(other),
        {**posted, "version": other.version, "action": "complete_confirmed", "warned": token},
    )
    other.refresh_from_db()
    assert other.status == FormStatus.KLADD


def test_ferdigstill_with_a_related_site_code_needs_no_confirmation(
    as_persona: Any, draft: Response
) -> None:
    answers = complete_answers(get_definition("1b"), visit=today())
    answers["DiagnosticNumber1"] = "M54.96"
    response = as_persona("clinician").post(
        fill_url(draft), {"version": draft.version, "action": "complete", **as_post(answers)}
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == FormStatus.FERDIGSTILT
    assert draft.answers["DiagnosticNumber1"] == "M5496"
    assert draft.answers["DiagnosticNumber1Name"] == "Uspesifisert ryggsmerte;lumbal"


# --- complete_clinician_form holds the rules for every caller -------------------------------------


def complete(draft: Response, answers: dict[str, Any], **kwargs: Any) -> Response:
    return scheduling.complete_clinician_form(
        actor=Actor.system(),
        response=draft,
        answers=answers,
        expected_version=draft.version,
        now=timezone.now(),
        **kwargs,
    )


def test_service_refuses_missing_items(draft: Response) -> None:
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, {"S1b_DateOfCompletion": today().isoformat()})
    assert any(m.anchor == "item-DiagnosticNumber1" for m in refused.value.check.missing)
    draft.refresh_from_db()
    assert draft.status == FormStatus.KLADD


def test_service_refuses_a_visit_date_in_the_future_or_before_the_referral(draft: Response) -> None:
    answers = complete_answers(get_definition("1b"), visit=today() + dt.timedelta(days=1))
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, answers)
    assert "fremtiden" in refused.value.check.errors["S1b_DateOfCompletion"]
    answers = complete_answers(get_definition("1b"), visit=today() - dt.timedelta(days=60))
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, answers)
    assert "før henvisningsdato" in refused.value.check.errors["S1b_DateOfCompletion"]


def test_service_refuses_repeated_and_invalid_codes(draft: Response) -> None:
    answers = complete_answers(get_definition("1b"), visit=today())
    answers["DiagnosticNumber2"] = "M545"
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, answers)
    assert "allerede registrert" in refused.value.check.errors["DiagnosticNumber2"]
    answers["DiagnosticNumber2"] = "XX9"
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, answers)
    assert "ikke en gyldig" in refused.value.check.errors["DiagnosticNumber2"]


def test_service_needs_the_confirmation_for_an_unrelated_diagnose_1(draft: Response) -> None:
    answers = complete_answers(get_definition("1b"), visit=today())
    answers["DiagnosticNumber1"] = "M797"
    with pytest.raises(CompletionRefused) as refused:
        complete(draft, answers)
    assert refused.value.check.unrelated_first is not None
    assert refused.value.check.unrelated_first.display == "M79.7"
    assert not refused.value.check.missing and not refused.value.check.errors
    completed = complete(draft, answers, confirm_not_neck_back=True)
    assert completed.status == FormStatus.FERDIGSTILT


def test_a_code_in_two_groups_lets_the_clinician_choose_the_group_without_javascript(
    as_persona: Any, draft: Response
) -> None:
    client = as_persona("clinician")
    client.post(
        fill_url(draft),
        {"version": draft.version, "action": "save", "DiagnosticNumber1": "M47.2"},
    )
    draft.refresh_from_db()
    assert draft.answers["DiagnosticNumber1Type"] == 21  # not picked: the back group
    html = client.get(fill_url(draft)).content.decode()
    select = html.split('<select class="ds-input" data-size="sm" name="DiagnosticNumber1Type"', 1)[
        1
    ]
    select = select.split("</select>", 1)[0]
    assert "Nakke – med relatert nevrologisk dysfunksjon: Cervical radiculopati" in select
    assert '<option value="21" selected>' in select
    client.post(
        fill_url(draft),
        {
            "version": draft.version,
            "action": "save",
            "DiagnosticNumber1": "M47.2",
            "DiagnosticNumber1Type": "11",
        },
    )
    draft.refresh_from_db()
    assert draft.answers["DiagnosticNumber1Type"] == 11
    # A code in one group only needs no choice.
    check = client.get(
        reverse("questionnaires:diagnosis_check"),
        {"target": "DiagnosticNumber1", "DiagnosticNumber1": "M54.5"},
    ).content.decode()
    assert "<select" not in check
    assert 'name="DiagnosticNumber1Type" id="type-DiagnosticNumber1" value="20"' in check
