"""One helper decides every next/back redirect: paths on this site only, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from nnrr.accounts.models import Membership
from nnrr.lib.redirects import safe_path
from tests.conftest import ST_OLAVS, book, login, make_patient

OFFSITE_OR_BROKEN = [
    "https://evil.example/",
    "http://testserver.evil.example/x",
    "//evil.example/path",
    "/\\evil.example",
    "\\\\evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/ok\r\nSet-Cookie: x=1",
    "/ok\x00",
    " https://evil.example",
    "evil.example",
    "https:/evil.example",
    "/" + "a" * 5000,
    "http://[::1",
]


@pytest.mark.parametrize("value", OFFSITE_OR_BROKEN)
def test_safe_path_refuses_other_sites_and_broken_values(value: str) -> None:
    assert safe_path(value, "/fallback/") == "/fallback/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/arbeidsliste/mine/", "/arbeidsliste/mine/"),
        ("/arbeidsliste/mine/?page=2", "/arbeidsliste/mine/?page=2"),
        ("/pasient/sok/#top", "/pasient/sok/"),
    ],
)
def test_safe_path_keeps_paths_on_this_site(value: str, expected: str) -> None:
    assert safe_path(value, "/") == expected


def test_endre_eier_does_not_redirect_to_another_site(as_persona: Any, persona: Any) -> None:
    """The open redirect: "back" on the owner page sent the user anywhere after saving."""
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    response = as_persona("clerk").post(
        reverse("patients:course_owner", args=[course.pk]),
        {"owner": persona("clinician").user.pk, "back": "https://evil.example/phish"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("patients:detail", args=[course.patient_id])


def test_endre_eier_returns_to_the_worklist_it_came_from(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    back = reverse("worklists:unit") + "?page=1"
    response = as_persona("clerk").post(
        reverse("patients:course_owner", args=[course.pk]),
        {"owner": persona("clinician").user.pk, "back": back},
    )
    assert response["Location"] == back


def test_endre_eier_page_does_not_echo_an_offsite_back_link(as_persona: Any, persona: Any) -> None:
    course = book(persona("clerk"), make_patient(ST_OLAVS))
    page = as_persona("clerk").get(
        reverse("patients:course_owner", args=[course.pk]), {"back": "https://evil.example/"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="back" value=""' in html
    assert 'name="back" value="https' not in html


# NUL bytes never reach a view (nnrr.lib.middleware.StripNulMiddleware removes them).
REACHING_VIEWS = [value for value in OFFSITE_OR_BROKEN if "\x00" not in value]


@pytest.mark.parametrize("value", REACHING_VIEWS)
def test_choosing_a_profile_with_a_bad_next_goes_home_without_an_error(
    persona: Any, value: str
) -> None:
    who = persona("clinician")
    client = login(Client(), who)
    response = client.post(
        reverse("accounts:choose_profile"), {"membership": who.membership.pk, "next": value}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("value", REACHING_VIEWS)
def test_login_and_test_idp_pages_survive_a_bad_next(client: Client, db: Any, value: str) -> None:
    for name in ("accounts:login", "accounts:test_idp"):
        page = client.get(reverse(name), {"next": value})
        assert page.status_code == 200
        assert "evil.example" not in page.content.decode()


def test_choosing_a_profile_follows_a_next_on_this_site(persona: Any) -> None:
    who = persona("clinician")
    assert Membership.objects.filter(pk=who.membership.pk).exists()
    response = login(Client(), who).post(
        reverse("accounts:choose_profile"),
        {"membership": who.membership.pk, "next": "/arbeidsliste/mine/"},
    )
    assert response["Location"] == "/arbeidsliste/mine/"
