"""End dates for roles in the administration, in Chromium: a past end date is refused with a
message and the role keeps working; «Avslutt nå» asks before it ends the role; the table says
until when a role works."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from nnrr.accounts.models import Membership, Role, User
from tests.browser.conftest import (
    ST_OLAVS_NAME,
    NewPage,
    axe,
    describe_violations,
    egil_larsen,
    login,
    no_date,
    screenshot,
    today,
)
from tests.conftest import ST_OLAVS

pytestmark = pytest.mark.browser

LOCAL_ADMIN_PROFILE = f"Lokal registeransvarlig ved {ST_OLAVS_NAME}"


def test_a_past_end_date_is_refused_and_avslutt_naa_asks_first(new_page: NewPage) -> None:
    egil_larsen()  # the manual's test user, Lokal registeransvarlig at St. Olavs
    person = User.objects.create(username="tove", full_name="Tove Terapeut")
    role = Membership.objects.create(user=person, unit_id=ST_OLAVS, role=Role.PASIENTANSVARLIG)
    page = new_page("desktop", bypass_csp=True)
    login(page, profile=LOCAL_ADMIN_PROFILE)
    page.goto(f"/administrasjon/brukere/{person.pk}/")
    row = page.get_by_role("row").filter(has_text="Pasientansvarlig")
    expect(row.get_by_role("cell", name="Virker", exact=True)).to_be_visible()

    # A past date, typed into the date field and saved: refused, with a message that says why.
    yesterday = today() - dt.timedelta(days=1)
    row.get_by_label("Gyldig til og med").fill(yesterday.isoformat())
    row.get_by_role("button", name="Lagre").click()
    expect(page.get_by_text("Sluttdatoen kan ikke ligge i fortiden")).to_be_visible()
    role.refresh_from_db()
    assert role.valid_until is None
    expect(row.get_by_role("cell", name="Virker", exact=True)).to_be_visible()

    # A date ahead is saved and shown in the status.
    ahead = today() + dt.timedelta(days=60)
    row.get_by_label("Gyldig til og med").fill(ahead.isoformat())
    row.get_by_role("button", name="Lagre").click()
    expect(page.get_by_text("Endringen er lagret.")).to_be_visible()
    expect(row.get_by_role("cell", name=f"Virker til {no_date(ahead)}")).to_be_visible()
    screenshot(page, "role-table")
    violations = axe(page)
    assert not violations, describe_violations(violations)

    # «Avslutt nå» first asks; only the answer ends the role.
    row.get_by_text("Avslutt nå", exact=True).click()
    confirm = row.get_by_role("button", name="Ja, avslutt rollen nå")
    expect(confirm).to_be_visible()
    expect(row.get_by_text("Tove Terapeut mister rollen Pasientansvarlig")).to_be_visible()
    role.refresh_from_db()
    assert role.valid_until == ahead  # nothing ended by opening the question
    confirm.click()
    expect(page.get_by_text("Rollen er avsluttet og virker ikke lenger.")).to_be_visible()
    expect(row.get_by_role("cell", name="Avsluttet", exact=True)).to_be_visible()
