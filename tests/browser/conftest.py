"""End-to-end tests in Chromium (Playwright, sync API) against Django's ``live_server``.

Run them with ``pytest -m browser`` (``make test-browser``); the default run excludes them.

Fixtures and helpers:

- ``browser``: one headless Debian Chromium for the session (never a downloaded browser).
- ``new_page(size="desktop"|"phone", ...)``: a fresh browser context (own cookies) and page at
  1280×900 or 390×844 (phone: ``is_mobile``, ``has_touch``), ``base_url`` = the live server.
  Uncaught JavaScript errors and Content-Security-Policy violations fail the test.
- ``login(page, ...)``: log in through the demo Test IDP and choose a profile, like a user.
- ``axe(page)``: run axe-core (WCAG 2.0/2.1 A and AA) and return the serious/critical violations.
- ``screenshot(page, name)``: writes ``/tmp/nnrr-shots/<name>.png`` when ``NNRR_SHOTS=1``.

The live server makes the database transactional: every table is emptied after each test, the
NNRR units of the data migration included, so an autouse fixture puts the units back.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from nnrr.accounts.forms import EGIL_LARSEN
from nnrr.accounts.models import Membership, Role, Unit, User
from nnrr.demo.loader import ensure_users
from nnrr.lib.dates import oslo_date
from tests.conftest import ST_OLAVS, Persona

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SIZES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}
AXE_JS = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOTS_DIR = Path(tempfile.gettempdir()) / "nnrr-shots"

ST_OLAVS_NAME = "St. Olavs hospital HF"
HAUKELAND_NAME = "Helse Bergen HF, Haukeland universitetssjukehus"
PROFILE_ST_OLAVS = f"Pasientansvarlig ved {ST_OLAVS_NAME}"
PROFILE_HAUKELAND = f"Pasientansvarlig ved {HAUKELAND_NAME}"


@pytest.fixture(scope="session")
def _allow_sync_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio event loop in the test thread, and Django refuses
    ORM calls from a thread with a running loop; the ORM calls here are plain synchronous ones."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_allow_sync_orm_beside_playwright: None) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is missing (make chromium installs Debian's Chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _units(transactional_db: None) -> None:
    """The units of the data migration (a transactional test's teardown deletes them)."""
    migration = importlib.import_module("nnrr.accounts.migrations.0002_load_nnrr_units")
    for resh_id, short_name, name, org_nr in migration.UNITS:
        Unit.objects.update_or_create(
            resh_id=resh_id,
            defaults={"short_name": short_name, "name": name, "organisation_number": org_nr},
        )


def _is_csp_violation(message: ConsoleMessage) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, live_server: Any) -> Iterator[NewPage]:
    """``new_page("phone")`` → a page in a new context (its own cookies) on the live server."""
    contexts = []
    problems: list[str] = []

    def make(
        size: str = "desktop", *, permissions: list[str] | None = None, **options: Any
    ) -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale="nb-NO",
            timezone_id="Europe/Oslo",
            **SIZES[size],
            **options,
        )
        context.set_default_timeout(10_000)
        if permissions:
            context.grant_permissions(permissions, origin=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on(
            "console",
            lambda message: (
                problems.append(f"CSP: {message.text}") if _is_csp_violation(message) else None
            ),
        )
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


# --- People ------------------------------------------------------------------------------------


def egil_larsen(unit_id: int = ST_OLAVS) -> Persona:
    """The manual's test user (created with the demo users) as Pasientansvarlig at ``unit_id``."""
    user: User = ensure_users()["EGIL LARSEN"]
    membership = Membership.objects.get(user=user, unit_id=unit_id, role=Role.PASIENTANSVARLIG)
    return Persona(user=user, membership=membership)


def login(page: Page, national_id: str = EGIL_LARSEN, profile: str = PROFILE_ST_OLAVS) -> None:
    """Log in at the Test IDP as the user with ``national_id`` and choose ``profile``."""
    page.goto("/testidp/")
    page.get_by_label("Fødselsnummer", exact=True).fill(national_id)
    page.get_by_role("button", name="Logg inn").click()
    choose_profile(page, profile)


def choose_profile(page: Page, profile: str) -> None:
    """Choose ``profile`` at «Velg profil»; a person with one profile never sees that page."""
    unit = profile.split(" ved ", 1)[1]
    front = page.get_by_role("heading", level=1, name=unit)
    chooser = page.get_by_role("heading", name="Velg profil")
    expect(chooser.or_(front)).to_be_visible()
    if chooser.is_visible():
        page.get_by_role("button", name=profile, exact=True).click()
    expect(front).to_be_visible()


def open_person_menu(page: Page) -> None:
    """The person button in the top right corner (its name is hidden on a phone)."""
    page.locator("details.app-person > summary").click()


# --- Dates -------------------------------------------------------------------------------------


def today() -> dt.date:
    return oslo_date(timezone.now())


def no_date(day: dt.date) -> str:
    """The date as the pages show it (dd.mm.åååå)."""
    return day.strftime("%d.%m.%Y")


# --- Accessibility -----------------------------------------------------------------------------

# Rules switched off, each with the reason (only for violations inside Designsystemet's own CSS
# that this project cannot fix). Empty: every violation axe found was fixed in our templates/CSS.
AXE_DISABLED_RULES: dict[str, str] = {}


def axe(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page; the serious and critical WCAG 2.0/2.1 A/AA violations.

    The page's context must be made with ``bypass_csp=True``: the page's Content-Security-Policy
    (no inline scripts) would otherwise refuse the injected axe script.
    """
    page.add_script_tag(path=str(AXE_JS))
    options: dict[str, Any] = {
        "runOnly": {"type": "tag", "values": AXE_TAGS},
        "rules": {rule: {"enabled": False} for rule in AXE_DISABLED_RULES},
        "resultTypes": ["violations"],
    }
    result = page.evaluate("options => axe.run(document, options)", options)
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"  [{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(
                f"      {' '.join(node['target'])}: {node['failureSummary'].splitlines()[-1]}"
            )
    return "\n".join(lines)


# --- Screenshots -------------------------------------------------------------------------------


def screenshot(page: Page, name: str, *, full_page: bool = True) -> None:
    """A screenshot into /tmp/nnrr-shots/ when NNRR_SHOTS=1 (for looking at layouts); a long
    page gets only its visible part."""
    if os.environ.get("NNRR_SHOTS") != "1":
        return
    SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    safe = re.sub(r"[^a-z0-9_-]+", "-", name.lower())
    height = page.evaluate("() => document.documentElement.scrollHeight")
    page.screenshot(
        path=str(SHOTS_DIR / f"{safe}-{width}.png"), full_page=full_page and height < 2500
    )
