from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest

from nnrr.accounts.profiles import Right
from nnrr.worklists.views import has_waiting


def waiting(request: HttpRequest) -> dict[str, Any]:
    """The red dot on "Arbeidsliste". A callable, so the query runs only where a template shows
    the dot (templates call callables), and not at all where the view already knows the answer
    and puts ``worklist_waiting`` in its own context (the front page)."""
    profile = getattr(request, "profile", None)
    if profile is None or not profile.has(Right.FORMS):
        return {"worklist_waiting": False}
    return {"worklist_waiting": partial(has_waiting, profile)}
