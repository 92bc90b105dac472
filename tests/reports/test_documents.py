"""Quarterly and annual PDFs: ordered on a page, made by the worker's job, scoped to the unit."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pypdf
import pytest
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from nnrr.accounts.models import Unit
from nnrr.reports import documents
from nnrr.reports.models import ReportDocument
from tests.conftest import ST_OLAVS


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # Lines wrap where the page is narrow: compare with whitespace collapsed.
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def test_quarter_arithmetic() -> None:
    assert documents.last_completed_quarter_end(dt.date(2026, 11, 27)) == dt.date(2026, 9, 30)
    assert documents.last_completed_quarter_end(dt.date(2026, 1, 1)) == dt.date(2025, 12, 31)
    assert documents.four_quarters(dt.date(2026, 9, 30)) == (
        dt.date(2025, 10, 1),
        dt.date(2026, 9, 30),
    )
    assert documents.four_quarters(dt.date(2025, 12, 31)) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 12, 31),
    )


def test_ordering_a_quarterly_report_queues_a_job(as_persona: Any, db: Any) -> None:
    client = as_persona("report_reader")
    assert client.get(reverse("reports:documents")).status_code == 200
    response = client.post(reverse("reports:documents"), {"type": "quarterly"})
    document = ReportDocument.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:document", kwargs={"document_id": document.pk})
    assert document.unit_id == ST_OLAVS and document.state == ReportDocument.State.QUEUED
    assert DBTaskResult.objects.filter(
        queue_name="reports", args_kwargs__args=[str(document.pk)]
    ).exists()
    page = client.get(response["Location"]).content.decode()
    assert "I kø" in page and 'hx-trigger="every 2s"' in page and "Oppdater" in page


def test_bad_order_gets_a_message(as_persona: Any, db: Any) -> None:
    client = as_persona("report_reader")
    response = client.post(reverse("reports:documents"), {"type": "annual", "aar": "1999"})
    assert response.status_code == 400
    assert "Velg et år mellom" in response.content.decode()
    assert client.post(reverse("reports:documents"), {"type": "x"}).status_code == 400
    assert not ReportDocument.objects.exists()


# Renders a whole report PDF with WeasyPrint: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_quarterly_pdf_has_headings_and_figures(
    as_persona: Any,
    persona: Any,
    fixture: None,
    tmp_path: Path,
    settings: Any,
) -> None:
    override = tmp_path / "small.toml"
    override.write_text("[presentation]\nmin_denominator = 1\n")
    settings.REPORTS_CONFIG = str(override)
    reader = persona("report_reader")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.QUARTERLY,
        unit=Unit.objects.get(pk=ST_OLAVS),
        period_end=dt.date(2024, 6, 30),
        requested_by=reader.user,
        requested_unit=reader.unit,
    )
    documents.make(str(document.pk))  # what the worker runs
    document.refresh_from_db()
    assert document.state == ReportDocument.State.DONE, document.error
    assert document.progress == 100
    text = _text(bytes(document.pdf))
    for heading in (
        "Kvartalsrapport St. Olavs, 2. kvartal 2024",
        "Innhold",
        "Pasientsammensetning",
        "Ventetid fra henvisning til besøk",
        "Kvalitetsindikatorer",
        "Svarprosent på oppfølgingsskjema",
        "Resten av landet",
    ):
        assert heading in text, heading
    assert "01.07.2023–30.06.2024" in text
    assert "Side 2 av" in text
    # Tverrfaglig behandling, St. Olavs 2024: 2 of 8, Clopper–Pearson 3–65 %.
    assert "25 % (3 %–65 %), N=8" in text
    client = as_persona("report_reader")
    download = client.get(reverse("reports:document_download", kwargs={"document_id": document.pk}))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download.content.startswith(b"%PDF")


# Renders a whole report PDF with WeasyPrint: `make test` runs it, `make test-fast` not.
@pytest.mark.slow
def test_annual_pdf(persona: Any, fixture: None) -> None:
    admin = persona("national_admin")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.ANNUAL,
        unit=admin.unit,
        period_end=dt.date(2024, 12, 31),
        requested_by=admin.user,
        requested_unit=admin.unit,
        national=True,
    )
    documents.make(str(document.pk))
    document.refresh_from_db()
    text = _text(bytes(document.pdf))
    assert "Årsrapport 2024" in text
    assert "Haukeland" in text and "Hele landet" in text
    assert "2022" in text and "2023" in text


def test_another_units_document_is_not_found(as_persona: Any, persona: Any, db: Any) -> None:
    reader = persona("report_reader")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.QUARTERLY,
        unit=reader.unit,
        period_end=dt.date(2024, 6, 30),
        requested_by=reader.user,
        requested_unit=reader.unit,
    )
    other = as_persona("haukeland_local_admin")
    url = reverse("reports:document", kwargs={"document_id": document.pk})
    assert other.get(url).status_code == 404
    assert as_persona("local_admin").get(url).status_code == 200  # same unit, other user
    assert as_persona("national_admin").get(url).status_code == 200


def test_a_failed_job_is_shown_not_raised(
    as_persona: Any, persona: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = persona("report_reader")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.QUARTERLY,
        unit=reader.unit,
        period_end=dt.date(2024, 6, 30),
        requested_by=reader.user,
        requested_unit=reader.unit,
    )

    def broken(*args: Any) -> bytes:
        raise RuntimeError("fonts missing")

    monkeypatch.setattr(documents, "render", broken)
    documents.make(str(document.pk))
    document.refresh_from_db()
    assert document.state == ReportDocument.State.FAILED
    page = as_persona("report_reader").get(
        reverse("reports:document", kwargs={"document_id": document.pk})
    )
    assert "Rapporten kunne ikke lages" in page.content.decode()
    download = as_persona("report_reader").get(
        reverse("reports:document_download", kwargs={"document_id": document.pk})
    )
    assert download.status_code == 302  # back to the status page, no empty PDF


def test_every_part_of_a_quarterly_pdf_names_its_period_and_an_unfinished_year_is_marked(
    persona: Any, db: Any
) -> None:
    """The cover lists each part with the period its numbers cover, each part repeats it above
    its pages, and the year not yet over reads "ufullstendig år" in tables and chart titles."""
    from nnrr.lib.dates import oslo_date

    year = oslo_date(timezone.now()).year
    reader = persona("report_reader")
    document = ReportDocument.objects.create(
        kind=ReportDocument.Kind.QUARTERLY,
        unit=Unit.objects.get(pk=ST_OLAVS),
        period_end=dt.date(year, 3, 31),
        requested_by=reader.user,
        requested_unit=reader.unit,
    )
    documents.make(str(document.pk))
    document.refresh_from_db()
    assert document.state == ReportDocument.State.DONE, document.error
    text = _text(bytes(document.pdf))
    cover = text.split("Innhold", 1)[0]
    quarters = f"01.04.{year - 1}–31.03.{year}"
    unfinished = f"{year} (ufullstendig år)"
    assert "Periode for hver del" in cover
    assert f"Pasientsammensetning {quarters}" in cover
    assert f"Ventetid fra henvisning til besøk {quarters}" in cover
    assert f"Kvalitetsindikatorer {year - 2}–{unfinished}" in cover
    assert f"Svarprosent på oppfølgingsskjema {year - 2}–{unfinished}" in cover
    body = text.split("Innhold", 1)[1]
    assert body.count(f"Periode: {quarters}") == 2
    assert body.count(f"Periode: {year - 2}–{unfinished}") == 2
    assert f"Tverrfaglig behandling, {unfinished}" in body  # a chart's title
    assert f"({year})" not in body  # no bare current year passed off as a whole one


def test_a_year_is_unfinished_until_its_last_day_is_over() -> None:
    from nnrr.reports import content

    def label(as_of: dt.date, year: int) -> str:
        choices = content.Choices(
            report="indikatorer",
            first_year=year,
            last_year=year,
            comparison=content.OWN_VS_REST,
            unit=Unit(resh_id=1, name="X", short_name="X"),
            viewer_sees_all=False,
            as_of=as_of,
        )
        return choices.year_label(year)

    assert label(dt.date(2026, 9, 30), 2026) == "2026 (ufullstendig år)"
    assert label(dt.date(2026, 12, 31), 2026) == "2026 (ufullstendig år)"
    assert label(dt.date(2027, 1, 1), 2026) == "2026"
