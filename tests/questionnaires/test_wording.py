"""Licensed instrument wording: production refuses to start without it, every response stores
which wording it was answered under, and placeholder wording is marked on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from nnrr.audit.context import Actor
from nnrr.questionnaires import wording
from nnrr.questionnaires.checks import check_licensed_wording
from nnrr.questionnaires.definitions import all_definitions, reload_definitions
from nnrr.questionnaires.models import Response, Source
from nnrr.scheduling import services
from tests.conftest import ST_OLAVS, book, make_patient


def write_wording(directory: Path, instruments: tuple[str, ...]) -> None:
    for instrument in instruments:
        items: dict[str, Any] = {}
        for definition in all_definitions():
            for item in definition.items():
                if item.instrument == instrument:
                    items[item.id] = {"label": {"nb": f"Lisensiert {item.id}", "en": item.id}}
        (directory / f"{instrument}.yaml").write_text(
            yaml.safe_dump(
                {
                    "wording": {"id": f"{instrument.upper()} offisiell", "version": "2024"},
                    "items": items,
                },
                allow_unicode=True,
            ),
            encoding="utf-8",
        )


@pytest.fixture
def wording_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NNRR_FORM_WORDING_DIR", str(tmp_path))
    reload_definitions()
    wording.reload()
    yield tmp_path
    monkeypatch.delenv("NNRR_FORM_WORDING_DIR")
    reload_definitions()
    wording.reload()


def test_production_refuses_to_start_without_licensed_wording() -> None:
    with override_settings(PRODUCTION=True):
        errors = check_licensed_wording()
    assert [e.id for e in errors] == ["nnrr.E104"]
    assert "ODI, NDI, EQ-5D-5L" in errors[0].msg
    with override_settings(PRODUCTION=False):
        assert check_licensed_wording() == []


def test_production_names_only_the_instruments_still_missing(wording_dir: Path) -> None:
    write_wording(wording_dir, ("odi",))
    reload_definitions()
    with override_settings(PRODUCTION=True):
        errors = check_licensed_wording()
    assert len(errors) == 1
    assert "NDI, EQ-5D-5L" in errors[0].msg and "ODI" not in errors[0].msg.replace("NDI", "")


def test_production_starts_with_the_licensed_wording_loaded(wording_dir: Path) -> None:
    write_wording(wording_dir, ("odi", "ndi", "eq5d5l"))
    reload_definitions()
    with override_settings(PRODUCTION=True):
        assert check_licensed_wording() == []
    assert wording.active()["odi"] == wording.Wording("odi", "ODI offisiell", "2024", True)


def test_a_partly_covered_instrument_is_not_licensed(wording_dir: Path) -> None:
    write_wording(wording_dir, ("odi", "ndi", "eq5d5l"))
    odi = wording_dir / "odi.yaml"
    data = yaml.safe_load(odi.read_text(encoding="utf-8"))
    data["items"].pop("OdiTravel")
    odi.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    reload_definitions()
    with override_settings(PRODUCTION=True):
        errors = check_licensed_wording()
    assert "ODI" in errors[0].msg


def submit(kind: str, persona: Any) -> Response:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    for each in ("1a", kind) if kind != "1a" else ("1a",):
        stored = services.submit_patient_form(
            actor=Actor.system(),
            course=course,
            kind=each,
            answers={},
            consent=True if each == "1a" else None,
            source=Source.PORTAL,
            now=timezone.now(),
        )
    return stored


# Starts manage.py in a fresh process: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_a_production_start_is_refused_naming_the_instruments(tmp_path: Path) -> None:
    from tests.accounts.test_settings_checks import PRODUCTION, _manage

    result = _manage("check", env=PRODUCTION, tmp=tmp_path)
    assert result.returncode != 0
    assert "nnrr.E104" in result.stderr + result.stdout
    assert "ODI, NDI, EQ-5D-5L" in result.stderr + result.stdout


def test_every_response_stores_the_wording_it_was_answered_under(persona: Any) -> None:
    stored = submit("1a", persona)
    assert stored.wording["odi"] == {
        "id": wording.PLACEHOLDER_ID,
        "version": "1",
        "licensed": False,
    }
    assert set(stored.wording) >= {"odi", "ndi", "fabq", "hscl10", "eq5d5l"}
    follow_up = submit("2", persona)
    assert set(follow_up.wording) == {"odi", "ndi", "eq5d5l"}


def test_a_response_under_licensed_wording_stores_its_id_and_version(
    wording_dir: Path, persona: Any
) -> None:
    write_wording(wording_dir, ("odi",))
    reload_definitions()
    wording.reload()
    stored = submit("1a", persona)
    assert stored.wording["odi"] == {"id": "ODI offisiell", "version": "2024", "licensed": True}
    assert stored.wording["ndi"]["licensed"] is False


def test_placeholder_wording_is_marked_on_screen_and_in_the_summary(
    persona: Any, as_persona: Any
) -> None:
    course = book(persona("clinician"), make_patient(ST_OLAVS), planned_in_days=-1)
    client = as_persona("clinician")
    html = client.get(reverse("questionnaires:paper", args=[course.pk, "1a"])).content.decode()
    assert 'data-placeholder-wording="ODI"' in html
    assert "ikke den lisensierte ordlyden av ODI" in html
    assert 'data-placeholder-wording="UHI"' not in html  # our own instrument
    stored = submit("1a", persona)
    page = client.get(reverse("questionnaires:response", args=[stored.pk])).content.decode()
    assert "Ordlyd skjemaet ble besvart med" in page
    assert "ODI: plassholder (ikke lisensiert ordlyd)" in page


def test_staff_are_told_of_placeholder_wording_on_the_summary_and_the_front_page(
    persona: Any, as_persona: Any
) -> None:
    stored = submit("1a", persona)
    client = as_persona("clinician")
    summary = client.get(reverse("questionnaires:response", args=[stored.pk])).content.decode()
    notice = summary.split('class="ds-paragraph app-placeholder-wording"', 1)[1].split("</p>")[0]
    assert "Plassholdertekst:" in notice and "ble besvart med plassholdertekst" in notice
    assert "ODI" in notice and "NDI" in notice
    front = client.get(reverse("patients:front")).content.decode()
    assert "Plassholdertekst: ODI, NDI, FABQ, HSCL-10, EQ-5D-5L i pasientskjemaene" in front


def test_licensed_instruments_are_not_named_in_the_summary_notice(
    wording_dir: Path, persona: Any
) -> None:
    write_wording(wording_dir, ("odi", "ndi"))
    reload_definitions()
    wording.reload()
    stored = submit("1a", persona)
    names = wording.placeholder_names(stored.wording)
    assert "ODI" not in names and "NDI" not in names and "FABQ" in names
