"""The manual's "Eksportere data" in a browser: EGIL LARSEN as Lokal registeransvarlig at
St. Olavs exports completed forms identifiable to Excel and de-identified to SPSS, notes each
password, downloads and opens both archives, and finds both in the Eksportlogg."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pyreadstat
import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from nnrr.demo.loader import ensure_users
from nnrr.exports.models import ExportJob
from tests.browser.conftest import ST_OLAVS_NAME, NewPage, login, screenshot, today
from tests.conftest import HAUKELAND, ST_OLAVS, make_patient
from tests.exports.conftest import add_course, open_archive

pytestmark = pytest.mark.browser

PROFILE = f"Lokal registeransvarlig ved {ST_OLAVS_NAME}"


def _worker_runs_the_queue() -> None:
    """What the db_worker beside the web server does: take the queued export and build it."""
    call_command(
        "db_worker", "--batch", "--queue-name", "exports", "--no-startup-delay", verbosity=0
    )


def _export(page: Page, *, identifiable: bool, fmt: str, purpose: str, tmp: Path) -> Path:
    page.get_by_role("navigation", name="Hovedmeny").get_by_role(
        "link", name="Eksporter skjema"
    ).click()
    expect(page.get_by_role("heading", name="Eksporter skjema")).to_be_visible()
    form_types = page.get_by_role("group", name="Skjematyper")
    for name in ("Behandlerskjema", "Pasientskjema før behandling"):
        expect(form_types.get_by_label(name)).to_be_checked()
    expect(
        page.get_by_role("group", name="Skjemastatus").get_by_label("Ferdigstilt")
    ).to_be_checked()
    # The live count follows the selection.
    expect(page.locator("#export-count")).to_contain_text("7 skjema passer")
    form_types.get_by_label("Pasientskjema 12 måneder etter behandling").uncheck()
    expect(page.locator("#export-count")).to_contain_text("6 skjema passer")
    form_types.get_by_label("Pasientskjema 12 måneder etter behandling").check()
    page.get_by_text("Vis avanserte valg").click()
    expect(page.get_by_label("Alder fra (år)")).to_be_visible()
    page.get_by_role("button", name="Eksporter skjema").click()

    expect(page.get_by_role("heading", name="Bekreft søkefiltrene")).to_be_visible()
    expect(page.get_by_text("7 skjema passer til utvalget")).to_be_visible()
    identifiable_box = page.get_by_label("Identifiserbar (med fødselsnummer og navn)")
    if identifiable:
        identifiable_box.check()
    page.get_by_role("button", name="Neste").click()

    expect(page.get_by_role("heading", name="Oppsummering av eksporten")).to_be_visible()
    page.get_by_label(fmt).check()
    page.get_by_role("button", name="Eksporter").click()
    expect(page.get_by_text("Oppgi formålet med eksporten.")).to_be_visible()
    page.get_by_label(fmt).check()
    page.get_by_label("Formål med eksporten").fill(purpose)
    page.get_by_role("button", name="Eksporter").click()

    expect(page.get_by_role("heading", name="Passord til filen – noter det nå")).to_be_visible()
    password = page.locator("#export-password").inner_text().strip()
    assert len(password) >= 20
    expect(page.locator("#export-status")).to_contain_text("I kø")
    screenshot(page, f"export-password-{fmt[:4]}")
    _worker_runs_the_queue()
    # Even on a phone's screen the download button is in view as the page stands, below the
    # password, without scrolling.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#export-status")).to_contain_text("Klar", timeout=15_000)
    button = page.get_by_role("link", name="Last ned kryptert fil")
    expect(button).to_be_in_viewport()
    assert page.evaluate("() => window.scrollY") == 0
    with page.expect_download() as download_info:
        button.click()
    target = tmp / download_info.value.suggested_filename
    download_info.value.save_as(target)
    # The password is never shown again, not even when the page is reloaded (the form re-sent).
    page.reload()
    expect(page.get_by_text("Denne eksporten er allerede bestilt")).to_be_visible()
    expect(page.locator("#export-password")).to_have_count(0)
    return _opened(target, password)


def _opened(target: Path, password: str) -> Any:
    return open_archive(target, password)


def test_export_identifiable_excel_and_de_identified_spss(
    new_page: NewPage, tmp_path: Path, settings: Any
) -> None:
    settings.EXPORT_DIR = tmp_path / "exports"
    ensure_users()
    patients = [
        make_patient(ST_OLAVS, name="Eksport Eriksen", born=dt.date(1970, 1, 5)),
        make_patient(ST_OLAVS, name="Tabell Tangen", born=dt.date(1981, 8, 9)),
    ]
    add_course(
        patients[0], ST_OLAVS, visit=today() - dt.timedelta(days=250), seed=3, follow_ups=("2",)
    )
    add_course(patients[1], ST_OLAVS, visit=today() - dt.timedelta(days=400), seed=4)
    add_course(
        make_patient(HAUKELAND, name="Annen Enhet"),
        HAUKELAND,
        visit=today() - dt.timedelta(days=100),
        seed=5,
    )

    page = new_page("desktop")
    login(page, profile=PROFILE)
    files = _export(
        page, identifiable=True, fmt="Excel (.xlsx)", purpose="Lokal kvalitetsrapport", tmp=tmp_path
    )
    book = openpyxl.load_workbook(io.BytesIO(files["nnrr-eksport.xlsx"]))
    sheet = book["Behandlerskjema"]
    header = [c.value for c in sheet[1]]
    names = {row[header.index("Navn")] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert names == {"Eksport Eriksen", "Tabell Tangen"}

    files = _export(
        page, identifiable=False, fmt="SPSS (.sav)", purpose="Forskningsprosjekt", tmp=tmp_path
    )
    (tmp_path / "b.sav").write_bytes(files["Behandlerskjema.sav"])
    frame, meta = pyreadstat.read_sav(str(tmp_path / "b.sav"))
    assert len(frame) == 2 and "Navn" not in frame.columns and "Fodselsnummer" not in frame
    # The registry codes an item shown and left unanswered as 0, "Ikke utfylt" (its codebook).
    assert meta.variable_value_labels["BackSurgery"] == {
        0.0: "Ikke utfylt",
        1.0: "Ja",
        2.0: "Nei",
        3.0: "Ukjent",
    }
    everything = b"".join(files.values())
    assert (
        b"Eksport Eriksen" not in everything and patients[0].national_id.encode() not in everything
    )

    page.get_by_role("navigation", name="Hovedmeny").get_by_role("link", name="Eksportlogg").click()
    log = page.get_by_role("table")
    expect(log).to_contain_text("Lokal kvalitetsrapport")
    expect(log).to_contain_text("Forskningsprosjekt")
    expect(log).to_contain_text("SPSS (.sav)")
    assert re.search(r"EGIL LARSEN", log.inner_text())
    assert ExportJob.objects.filter(state=ExportJob.State.READY).count() == 2
    screenshot(page, "export-log")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_export_pages_are_accessible(new_page: NewPage, size: str, settings: Any) -> None:
    """axe-core: no serious or critical WCAG 2.0/2.1 A/AA violations on the export pages."""
    from tests.browser.conftest import axe, describe_violations

    settings.EXPORT_DIR = Path(settings.DATA_DIR) / "test-exports"
    ensure_users()
    add_course(
        make_patient(ST_OLAVS, name="Axe Andersen"),
        ST_OLAVS,
        visit=today() - dt.timedelta(days=250),
        seed=7,
    )
    page = new_page(size, bypass_csp=True)
    login(page, profile=PROFILE)
    found: dict[str, Any] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        violations = axe(page)
        if violations:
            found[name] = violations

    page.goto("/eksport/")
    expect(page.locator("#export-count")).to_contain_text("skjema passer")
    page.get_by_text("Vis avanserte valg").click()
    check("select")
    page.get_by_role("button", name="Eksporter skjema").click()
    check("confirm")
    page.get_by_role("button", name="Neste").click()
    check("deliver")
    screenshot(page, f"export-deliver-{size}")
    page.get_by_role("button", name="Eksporter").click()
    check("deliver-with-error")
    page.get_by_label("Formål med eksporten").fill("Universell utforming")
    page.get_by_role("button", name="Eksporter").click()
    expect(page.locator("#export-password")).to_be_visible()
    check("job")
    page.goto("/eksport/logg/")
    check("log")
    report = "\n".join(f"{name}:\n{describe_violations(v)}" for name, v in found.items())
    assert not found, f"axe found serious/critical violations:\n{report}"
