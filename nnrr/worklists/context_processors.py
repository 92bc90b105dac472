from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from nnrr.accounts.profiles import Right
from nnrr.worklists.views import has_waiting


def waiting(request: HttpRequest) -> dict[str, Any]:
    profile = getattr(request, "profile", None)
    if profile is None or not profile.has(Right.FORMS):
        return {"worklist_waiting": False}
    return {"worklist_waiting": has_waiting(profile)}
