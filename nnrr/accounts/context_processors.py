from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from nnrr.accounts.profiles import Right


def profile(request: HttpRequest) -> dict[str, Any]:
    active = getattr(request, "profile", None)
    return {
        "profile": active,
        "rights": {right.name: bool(active and active.has(right)) for right in Right},
        "demo_mode": settings.DEMO,
    }
