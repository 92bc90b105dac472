from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from nnrr.accounts.profiles import Right


def waiting(request: HttpRequest) -> dict[str, Any]:
    """The red dot on "Arbeidsliste": read with the active profile at the start of the request
    (``load_profile``), so showing it costs no query; a view that knows better (the front page,
    from its counts) puts ``worklist_waiting`` in its own context."""
    profile = getattr(request, "profile", None)
    if profile is None or not profile.has(Right.FORMS):
        return {"worklist_waiting": False}
    return {"worklist_waiting": profile.worklist_waiting}
