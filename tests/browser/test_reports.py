"""The "Rapporter" pages in a browser: the flow without JavaScript needs, and axe-clean."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from nnrr.demo.bulk import seed
from nnrr.demo.coverage import seed_coverage
from tests.browser.conftest import NewPage, axe, describe_violations, egil_larsen, login

pytestmark = pytest.mark.browser

LOCAL_ADMIN = "Lokal registeransvarlig ved St. Olavs hospital HF"


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_report_pages_are_accessible(new_page: NewPage, size: str) -> None:
    egil_larsen()
    seed(scale=300, now=timezone.now(), out=io.StringIO())
    seed_coverage(now=timezone.now())
    page = new_page(size, bypass_csp=True)
    login(page, profile=LOCAL_ADMIN)
    found = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        violations = axe(page)
        if violations:
            found[name] = violations

    page.get_by_role("link", name="Rapporter", exact=True).first.click()
    expect(page.get_by_role("heading", level=1, name="Rapporter")).to_be_visible()
    check("choices")
    page.get_by_label("Rapport", exact=True).select_option("indikatorer")
    page.get_by_label("Alle enheter").check()
    page.get_by_role("button", name="Lag rapport").click()
    expect(page.get_by_role("heading", level=1, name="Kvalitetsindikatorer")).to_be_visible()
    expect(page.get_by_role("img", name="Tverrfaglig behandling").first).to_be_visible()
    page.get_by_text("Vis tabell").first.click()
    expect(page.get_by_role("rowheader", name="Haukeland").first).to_be_visible()
    check("indicators")
    assert "sammenligning=all" in page.url  # the address holds the choices
    page.get_by_role("link", name="Lag ny rapport basert på denne").click()
    expect(page.get_by_label("Alle enheter")).to_be_checked()
    page.get_by_label("Rapport", exact=True).select_option("utvikling")
    page.get_by_role("button", name="Lag rapport").click()
    expect(
        page.get_by_role("heading", level=1, name="Skårer før og etter behandling")
    ).to_be_visible()
    check("outcomes")
    page.get_by_role("link", name="PDF-rapporter").click()
    check("documents")
    page.get_by_role("button", name="Lag PDF").click()
    expect(page.get_by_role("progressbar")).to_be_visible()
    check("document-status")
    page.get_by_role("link", name="Dekningsgrad", exact=True).click()
    check("coverage")
    page.get_by_role("link", name="Abonnement", exact=True).click()
    page.get_by_label("E-post").fill("egil@stolav.example")
    page.get_by_role("button", name="Abonner").click()
    expect(page.get_by_text("Abonnementet er registrert")).to_be_visible()
    check("subscriptions")
    report = "\n".join(f"{name}:\n{describe_violations(v)}" for name, v in found.items())
    assert not found, f"axe found serious/critical violations:\n{report}"


def test_secretariat_pages_are_accessible(new_page: NewPage) -> None:
    from nnrr.demo.loader import ensure_users

    siri = ensure_users()["Siri Sekretariat"]
    subject = siri.identities.get().subject
    seed(scale=200, now=timezone.now(), out=io.StringIO())
    seed_coverage(now=timezone.now())
    page = new_page("desktop", bypass_csp=True)
    login(
        page,
        national_id=subject,
        profile="Registeradministrator ved Universitetssykehuset Nord-Norge HF, Tromsø",
    )
    found = {}
    page.goto("/rapporter/nasjonal-indikatorfil/")
    expect(page.get_by_role("heading", level=1, name="Nasjonal indikatorfil")).to_be_visible()
    found["national-file"] = axe(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Last ned CSV").click()
    path = download.value.path()
    assert path.read_text(encoding="utf-8").startswith("context,orgnr,year,var,denominator,ind_id")
    page.goto("/rapporter/dekningsgrad/")
    page.get_by_label("Enhet").select_option(label="Haukeland")
    page.get_by_role("button", name="Vis enhet").click()
    expect(page.get_by_role("heading", name="Registrer for Haukeland")).to_be_visible()
    found["coverage-admin"] = axe(page)
    page.goto("/rapporter/")
    found["choices-admin"] = axe(page)
    found = {name: v for name, v in found.items() if v}
    report = "\n".join(f"{name}:\n{describe_violations(v)}" for name, v in found.items())
    assert not found, f"axe found serious/critical violations:\n{report}"


def test_report_charts_arrive_as_images_under_the_content_security_policy(
    new_page: NewPage,
) -> None:
    """The report page comes first; each chart is then fetched as an image of its own (drawn
    on the server when asked for), and every one of them loads, with the policy enforced."""
    egil_larsen()
    seed(scale=300, now=timezone.now(), out=io.StringIO())
    page = new_page("desktop")
    login(page, profile=LOCAL_ADMIN)
    page.goto("/rapporter/vis/?rapport=indikatorer&fra=2022&til=2025&sammenligning=rest")
    expect(page.get_by_role("heading", level=1, name="Kvalitetsindikatorer")).to_be_visible()
    images = page.locator("img.app-chart")
    assert images.count() >= 3
    for index in range(images.count()):
        image = images.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )


def test_data_quality_page_is_accessible_and_downloads(new_page: NewPage) -> None:
    from nnrr.demo.loader import ensure_users

    siri = ensure_users()["Siri Sekretariat"]
    subject = siri.identities.get().subject
    seed(scale=200, now=timezone.now(), out=io.StringIO())
    page = new_page("desktop", bypass_csp=True)
    login(
        page,
        national_id=subject,
        profile="Registeradministrator ved Universitetssykehuset Nord-Norge HF, Tromsø",
    )
    page.get_by_role("link", name="Rapporter", exact=True).first.click()
    page.get_by_role("link", name="Datakvalitet", exact=True).click()
    page.get_by_label("År").fill(str(timezone.now().year - 1))
    page.get_by_label("Enhet").select_option(label="Alle enheter")
    page.get_by_role("button", name="Vis datakvalitet").click()
    expect(page.get_by_role("heading", name=f"St. Olavs {timezone.now().year - 1}")).to_be_visible()
    page.get_by_text("Pasientskjema før behandling (").first.click()
    expect(page.get_by_role("columnheader", name="Ikke vist").first).to_be_visible()
    violations = axe(page)
    assert not violations, describe_violations(violations)
    with page.expect_download() as download:
        page.get_by_role("link", name="Last ned som CSV").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.startswith("enhet_resh;enhet;aar;del;skjema;variabel")
