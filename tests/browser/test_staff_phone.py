"""Staff pages at phone width (390 px): no sideways page scroll, and the row actions of the
patient page and the worklists reachable without scrolling sideways."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import services as scheduling
from tests.browser.conftest import ST_OLAVS_NAME, NewPage, egil_larsen, login, screenshot
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser


def assert_no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width} px wide"


def assert_inside_screen(page: Page, selector: str) -> None:
    boxes = page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent !== null).map(e => {"
        " const b = e.getBoundingClientRect(); return [e.textContent.trim(), b.left, b.right]; })"
    )
    assert boxes, selector
    outside = [box for box in boxes if box[1] < 0 or box[2] > 390]
    assert not outside, outside


def test_patient_page_and_worklists_at_phone_width(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Kristine Kortvisning")
    course = book(egil, patient, planned_in_days=-2)
    scheduling.order_questionnaire(
        actor=egil.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    page = new_page("phone")
    login(page)

    page.goto(f"/pasient/{patient.pk}/")
    assert_no_sideways_scroll(page)
    assert_inside_screen(page, ".app-cell-actions summary, .app-cell-actions > a")
    # The three-dots menu of the Behandlerskjema opens inside the screen.
    page.locator(".app-cell-actions summary").first.click()
    assert_inside_screen(page, ".app-cell-actions details[open] .app-menu__panel a")
    screenshot(page, "staff-phone-patient")

    for url in ("/arbeidsliste/mine/", "/arbeidsliste/utgatt/", "/arbeidsliste/avdelingen/"):
        page.goto(url)
        expect(page.get_by_text("Kristine Kortvisning")).to_be_visible()
        assert_no_sideways_scroll(page)
        assert_inside_screen(page, ".app-cell-actions a")
    screenshot(page, "staff-phone-worklist")


def test_other_staff_pages_have_no_sideways_scroll_at_phone_width(new_page: NewPage) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Vilde Vidde")
    course = book(egil, patient, planned_in_days=-2)
    new = scheduling.order_questionnaire(
        actor=egil.actor,
        course=course,
        kind=FormKind.PRE_TREATMENT,
        notify_self=True,
        now=timezone.now(),
    )
    clinician_form = course.responses.get(kind=FormKind.CLINICIAN)
    page = new_page("phone")
    login(page)
    for url in (
        "/",
        f"/skjema/{clinician_form.pk}/",
        f"/skjema/{clinician_form.pk}/fyll-ut/",
        f"/bestilling/{new.order.pk}/",
        f"/bestilling/{new.order.pk}/bestill-pa-nytt/",
        f"/forlop/{course.pk}/papirskjema/1a/",
        "/arbeidsliste/samtykke/",
    ):
        page.goto(url)
        assert_no_sideways_scroll(page)


def test_tables_on_a_desktop_are_tables_with_their_headings_over_their_columns(
    new_page: NewPage,
) -> None:
    """The row tables that stack into cards on a phone stay tables on a desktop: each column
    heading stands over its column (a layout class once made them a grid, the headings bunched
    at the left). And only "Arbeidsliste" is marked as the current menu item on the worklists."""
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Kristine Kolonne")
    book(egil, patient)
    page = new_page("desktop")
    login(page, profile=f"Lokal registeransvarlig ved {ST_OLAVS_NAME}")  # sees "Administrasjon"
    for url in ("/arbeidsliste/mine/", f"/pasient/{patient.pk}/"):
        page.goto(url)
        table = page.locator("table.app-stack").first
        headings = table.locator("thead th").evaluate_all(
            "els => els.map(e => Math.round(e.getBoundingClientRect().left))"
        )
        cells = (
            table.locator("tbody tr")
            .first.locator("td")
            .evaluate_all("els => els.map(e => Math.round(e.getBoundingClientRect().left))")
        )
        assert headings == cells, (url, headings, cells)
    page.goto("/arbeidsliste/avdelingen/")
    current = page.locator("nav.app-nav:not(.app-subnav) a[aria-current=page]").all_inner_texts()
    assert current == ["Arbeidsliste"]
