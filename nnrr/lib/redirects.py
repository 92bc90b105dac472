"""The one way to follow a ``next`` or ``back`` parameter.

Pages pass where to go afterwards ("next" after login, "back" to the worklist after "Endre eier").
Such a value comes from the browser, so it may be anything: another site, a ``javascript:`` URL,
a path with line breaks or NUL bytes. Only a path on this site is followed; everything else falls
back to the page's own default. Following a value never raises (no 400 or 500 on a bad one).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

MAX_LENGTH = 2000


def safe_path(value: object, default: str) -> str:
    """``value`` when it is a path on this site (``/…``, optionally with a query), else
    ``default``. Scheme, host, protocol-relative (``//host``), backslashes, control characters
    and over-long values are refused."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        return default
    if not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return default
    try:
        parts = urlsplit(value)
    except ValueError:
        return default
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    # Django's own test as a second opinion (it knows the browsers' quirks); no host is allowed.
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


def next_from(request: HttpRequest, default: str, *, name: str = "next") -> str:
    """The safe ``name`` parameter of the request (POST first, then the query string)."""
    raw = request.POST.get(name) or request.GET.get(name) or ""
    return safe_path(raw, default)
