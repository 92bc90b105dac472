"""Request helpers."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request as django-htmx's middleware leaves it (``request.htmx``), for the type checker."""

    htmx: HtmxDetails


def _ip(value: object) -> str:
    """``value`` as a normalised IP address, or "" when it is not one."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        return ""


def client_address(request: HttpRequest) -> str:
    """The client's IP address, trusting X-Forwarded-For only from the configured proxies.

    With ``NNRR_TRUSTED_PROXY_COUNT`` = n, the n-th address from the right of X-Forwarded-For is
    the one our nearest trusted proxy saw; anything further left is the client's own claim and is
    ignored. A value that is not an IP address is never used (it would not fit the audit log).
    """
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in str(forwarded).split(",") if hop.strip()]
        if len(hops) >= proxies and (address := _ip(hops[-proxies])):
            return address
    return _ip(request.META.get("REMOTE_ADDR", ""))
