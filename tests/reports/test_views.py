"""The "Rapporter" pages: choices in the address, every report renders, scoping and "<5"."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from nnrr.reports import content

pytestmark = pytest.mark.usefixtures("fixture")

CHOICES = {"rapport": "indikatorer", "fra": "2022", "til": "2024", "sammenligning": "rest"}


@pytest.fixture(autouse=True)
def _year(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nnrr.reports.forms.current_year", lambda: 2025)


def chart_sources(page: str) -> list[str]:
    return re.findall(r'<img class="app-chart" src="([^"]+)"', page)


def test_menu_shows_rapporter_for_the_report_right_only(as_persona: Any) -> None:
    page = as_persona("report_reader").get(reverse("patients:front")).content.decode()
    assert f'href="{reverse("reports:index")}"' in page
    page = as_persona("clinician").get(reverse("patients:front")).content.decode()
    assert f'href="{reverse("reports:index")}"' not in page
    assert as_persona("clinician").get(reverse("reports:index")).status_code == 403
    assert as_persona("exporter").get(reverse("reports:show"), CHOICES).status_code == 403


@pytest.mark.parametrize("report", list(content.REPORTS))
@pytest.mark.parametrize("comparison", ["rest", "all", "own"])
def test_every_report_renders(as_persona: Any, report: str, comparison: str) -> None:
    client = as_persona("report_reader")
    response = client.get(
        reverse("reports:show"), {**CHOICES, "rapport": report, "sammenligning": comparison}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Vis tabell" in page
    assert 'alt="' in page
    # The charts come after the page, each as an image of its own (drawn when asked for).
    sources = chart_sources(page)
    assert sources
    first = client.get(sources[0])
    assert first.status_code == 200
    assert first["Content-Type"] == "image/svg+xml"
    assert first.content.lstrip().startswith(b"<?xml")
    assert "St. Olavs" in page
    if comparison == "rest":
        assert "Resten av landet" in page
    if comparison == "all":
        assert "Haukeland" in page and "Hele landet" in page
    # Aggregates only: no names or national ids of the fixture's patients.
    assert "Ola Nordmann" not in page


def test_the_address_holds_the_choices_and_reopens_them(as_persona: Any) -> None:
    client = as_persona("report_reader")
    page = client.get(reverse("reports:show"), CHOICES).content.decode()
    assert "Lag ny rapport basert på denne" in page
    start = page.index("Lag ny rapport basert på denne")
    href = page[
        page.rindex('href="', 0, start) + 6 : page.index('"', page.rindex('href="', 0, start) + 6)
    ]
    url = urlparse(href.replace("&amp;", "&"))
    assert url.path == reverse("reports:index")
    assert {k: v[0] for k, v in parse_qs(url.query).items()} == CHOICES
    form_page = client.get(url.path + "?" + url.query).content.decode()
    assert 'value="2022"' in form_page and 'value="2024"' in form_page
    assert 'value="rest" checked' in form_page


def test_indicator_report_marks_small_units(as_persona: Any) -> None:
    page = as_persona("report_reader").get(reverse("reports:show"), CHOICES).content.decode()
    assert "Tverrfaglig behandling" in page
    assert "N&lt;30" in page  # 8 courses in the latest year
    assert "Mål: 30 %" in page


def test_small_cells_of_other_units_are_shown_as_under_five_and_cannot_be_subtracted(
    as_persona: Any,
) -> None:
    choices = {**CHOICES, "rapport": "pasientsammensetning", "sammenligning": "all", "fra": "2024"}
    reader = as_persona("report_reader").get(reverse("reports:show"), choices).content.decode()
    # Haukeland has 2 courses: every non-zero count of that unit is "<5" for St. Olavs, its
    # total too; the whole country's total minus St. Olavs' own would give it away, so the
    # country's total is hidden ("x") while St. Olavs' own figures stay shown.
    header = reader[reader.index("<thead>") :].split("</tr>")[0]
    names = re.findall(r'<th scope="col">([^<]*)</th>', header)[1:]
    row = reader[reader.index('<th scope="row">Totalt</th>') :].split("</tr>")[0]
    totals = dict(zip(names, re.findall(r"<td>([^<]*)</td>", row), strict=True))
    assert totals["Haukeland"] == "&lt;5"
    assert totals["Hele landet"] == "x"
    assert totals["St. Olavs"].isdigit()
    assert "«x»: skjult" in reader
    admin = as_persona("national_admin").get(
        reverse("reports:show"), {**choices, "enhet": "104293"}
    )
    assert "&lt;5" not in admin.content.decode()


def test_bad_choices_get_a_clear_message(as_persona: Any) -> None:
    client = as_persona("report_reader")
    for bad in (
        {**CHOICES, "fra": "2024", "til": "2022"},
        {**CHOICES, "fra": "abc"},
        {**CHOICES, "rapport": "finnes-ikke"},
        {**CHOICES, "sammenligning": "x"},
        {**CHOICES, "fra": "1990"},
    ):
        response = client.get(reverse("reports:show"), bad)
        assert response.status_code == 400
        assert "Rapporten kan ikke lages med disse valgene" in response.content.decode()


def test_a_report_reader_cannot_pick_another_unit(as_persona: Any) -> None:
    page = as_persona("report_reader").get(
        reverse("reports:show"), {**CHOICES, "enhet": "102959", "sammenligning": "own"}
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert "St. Olavs" in text and "Haukeland" not in text


def test_national_file_for_the_secretariat_only(as_persona: Any) -> None:
    url = reverse("reports:national_file")
    assert as_persona("report_reader").get(url).status_code == 403
    assert as_persona("local_admin").get(url).status_code == 403
    client = as_persona("national_admin")
    assert client.get(url).status_code == 200
    response = client.get(url, {"fra": "2023", "til": "2024"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["context", "orgnr", "year", "var", "denominator", "ind_id"]
    assert len(rows) > 20
    expected = io.StringIO()
    from nnrr.reports import national_file

    national_file.write(expected, 2023, 2024)
    assert body == expected.getvalue()  # the same file as `nnrr indicators`
    bad = client.get(url, {"fra": "2019", "til": "2024"})
    assert bad.status_code == 400 and "Velg et år mellom 2021" in bad.content.decode()


def test_a_report_page_draws_no_chart_until_its_image_is_asked_for(as_persona: Any) -> None:
    """The page describes its charts; each is drawn once, when its image is fetched, and kept."""
    from django.core.cache import caches

    client = as_persona("report_reader")
    page = client.get(reverse("reports:show"), CHOICES).content.decode()
    sources = chart_sources(page)
    assert len(sources) >= 3
    assert all(source.startswith("/rapporter/graf/") for source in sources)
    keys = [charts_key(source) for source in sources]
    assert all(caches["charts"].get(f"svg-{key}") is None for key in keys)
    drawn = [client.get(source) for source in sources]
    assert all(r.status_code == 200 and r["Content-Type"] == "image/svg+xml" for r in drawn)
    assert all(caches["charts"].get(f"svg-{key}") is not None for key in keys)
    # The same report again describes the same charts: the images are the ones drawn.
    again = chart_sources(client.get(reverse("reports:show"), CHOICES).content.decode())
    assert [charts_key(source) for source in again] == keys


def charts_key(source: str) -> str:
    from django.core import signing

    from nnrr.reports import charts

    token = source.rstrip("/").rsplit("/", 1)[1]
    key, _membership = signing.loads(token, salt=charts.SIGNED_AS)
    return str(key)


def test_a_chart_image_is_only_for_the_profile_it_was_made_for(as_persona: Any) -> None:
    source = chart_sources(
        as_persona("report_reader").get(reverse("reports:show"), CHOICES).content.decode()
    )[0]
    # Another user with the same right, another unit's reader, a changed link: 404, not the chart.
    assert as_persona("local_admin").get(source).status_code == 404
    assert as_persona("haukeland_local_admin").get(source).status_code == 404
    reader = as_persona("report_reader")
    assert reader.get(source[:-3] + "xx/").status_code == 404
    assert reader.get("/rapporter/graf/ikke-en-graf/").status_code == 404
    # Without the report right: refused before anything is read.
    assert as_persona("clinician").get(source).status_code in (403, 404)


def test_a_chart_whose_description_expired_is_not_found(as_persona: Any) -> None:
    from django.core.cache import caches

    client = as_persona("report_reader")
    source = chart_sources(client.get(reverse("reports:show"), CHOICES).content.decode())[0]
    caches["charts"].delete(f"spec-{charts_key(source)}")
    assert client.get(source).status_code == 404


def test_the_default_years_end_with_the_last_complete_year(as_persona: Any) -> None:
    from nnrr.reports.forms import current_year

    page = as_persona("report_reader").get(reverse("reports:index")).content.decode()
    last = current_year() - 1
    assert f'name="til" value="{last}"' in page
    assert f'name="fra" value="{last - 2}"' in page


def test_the_national_file_page_accepts_2021_and_refuses_2020_as_the_first_year(
    as_persona: Any,
) -> None:
    client = as_persona("national_admin")
    url = reverse("reports:national_file")
    accepted = client.get(url, {"fra": "2021", "til": "2022"})
    assert accepted.status_code == 200 and accepted["Content-Type"].startswith("text/csv")
    refused = client.get(url, {"fra": "2020", "til": "2022"})
    assert refused.status_code == 400
    assert "Velg et år mellom 2021" in refused.content.decode()
