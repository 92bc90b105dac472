"""Links to the patient portal follow the address the system is served on.

`make demo PORT=8102` serves on another port than 8000: the portal address staff read beside the
one-time code, and the link in the patient's message, must both lead to the portal on that port
(here: the live server's own random port), and work when followed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from nnrr.audit.context import Actor
from nnrr.questionnaires.models import FormKind
from nnrr.scheduling import dispatch
from nnrr.scheduling import services as scheduling
from nnrr.scheduling.channels import FileChannel
from tests.browser.conftest import NewPage, egil_larsen, login, no_date
from tests.browser.test_portal_flow import order_with_code
from tests.conftest import ST_OLAVS, book, make_patient

pytestmark = pytest.mark.browser


def test_the_portal_address_beside_the_code_is_the_address_the_system_runs_on(
    new_page: NewPage, live_server: Any
) -> None:
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Adresse Pasientsen")
    course = book(egil, patient)
    staff = new_page("desktop")
    login(staff)
    staff.goto(f"/pasient/{patient.pk}/")
    code = order_with_code(staff, patient.name, no_date(course.planned_consultation_date))
    portal = staff.get_by_role("link", name="ePROM utfyllingsportal")
    expect(portal).to_have_attribute("href", f"{live_server.url}/eprom/")
    assert not live_server.url.endswith(":8000")

    # Followed on the clinic PC, the address opens the portal where the code works.
    with staff.context.expect_page() as opened:
        portal.click()
    patient_page = opened.value
    patient_page.get_by_label("Engangskode").fill(code)
    patient_page.get_by_label("Fødselsdato").fill(no_date(patient.birth_date))
    patient_page.get_by_role("button", name="Logg inn").click()
    expect(patient_page.get_by_role("heading", name="Samtykke")).to_be_visible()


def test_the_link_in_the_patients_message_opens_the_portal_on_the_port_served(
    new_page: NewPage, live_server: Any, tmp_path: Path
) -> None:
    """The worker writes the message with the address bin/serve exported for the port it serves
    (NNRR_SERVE_ADDRESS → PORTAL_BASE_URL); the demo's «Sendte meldinger» shows it, and the
    patient opens it on a phone."""
    egil = egil_larsen()
    patient = make_patient(ST_OLAVS, name="Lenke Pasientsen", email="lenke@example.no")
    course = book(egil, patient)
    served = f"http://{urlsplit(live_server.url).netloc}"
    with override_settings(PORTAL_BASE_URL=served, OUTBOX_DIR=tmp_path, DEMO=True):
        scheduling.order_questionnaire(
            actor=Actor.system("test"),
            course=course,
            kind=FormKind.PRE_TREATMENT,
            notify_self=False,
            now=timezone.now(),
        )
        dispatch.run_pass(worker_id="w-test", now=timezone.now(), channel=FileChannel(tmp_path))
        staff = new_page("desktop")
        login(staff)
        staff.goto("/demo/meldinger/")
        link = staff.locator('a[href*="/eprom/lenke/"]').first
        href = link.get_attribute("href") or ""
        assert href.startswith(f"{live_server.url}/eprom/lenke/")

        phone = new_page("phone")
        phone.goto(href)
        expect(phone.get_by_role("heading", name="Spørreskjema fra sykehuset")).to_be_visible()
        phone.get_by_label("Fødselsdato").fill(no_date(patient.birth_date))
        phone.get_by_role("button", name="Åpne skjemaet").click()
        expect(phone.get_by_role("heading", name="Samtykke")).to_be_visible()
