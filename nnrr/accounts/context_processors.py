from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

from nnrr.accounts.profiles import Right

# The links of every page's header and main menu (templates/base.html: ``{{ nav.<name> }}``, the
# view name with ":" as "_").
NAV_VIEWS = (
    "patients:front",
    "patients:search",
    "patients:registry_withdraw",
    "worklists:index",
    "accounts:choose_profile",
    "accounts:apply",
    "accounts:logout",
    "accounts:applications",
    "exports:index",
    "exports:log",
    "reports:index",
    "audit:log",
    "audit:innsyn",
    "appointments:index",
    "scheduling:demo_outbox",
    "set_language",
)


def profile(request: HttpRequest) -> dict[str, Any]:
    active = getattr(request, "profile", None)
    return {
        "profile": active,
        "rights": {right.name: bool(active and active.has(right)) for right in Right},
        "demo_mode": settings.DEMO,
        "nav": _nav(get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF),
    }


@lru_cache(maxsize=16)
def _nav(script_prefix: str, urlconf: str) -> dict[str, str]:
    """The menu's URLs, reversed once per URLconf and script prefix (not on every page: the
    resolver was a tenth of a page's time). A page not mounted (the demo's outbox outside the
    demo) has no entry."""
    urls = {}
    for name in NAV_VIEWS:
        try:
            urls[name.replace(":", "_")] = reverse(name, urlconf=urlconf)
        except NoReverseMatch:
            continue
    return urls
