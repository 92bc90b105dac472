"""Table rows of the long lists (worklists, the audit log) rendered in Python.

A worklist page shows 50 rows of links, labels and dates; rendered by the template engine, every
row paid again for each ``{% url %}`` (the URL resolver), ``{% translate %}`` and ``|date``
filter, several times the cost of the page's database work. Here the translations and URL
shapes are looked up once per page and each row is one ``format_html`` call. The HTML is the
same as the templates wrote; every value goes through ``format_html``'s escaping.

:func:`html_rows` is ``format_html_join("", ...)`` for a page of rows, and :func:`html_format`
is ``format_html``: the same escaping (``html.escape`` of the text, safe strings left as they are)
without Django's per-value lazy-string wrapper, which was a fifth of a 50-row worklist's time.
"""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

# Stands in for a UUID argument while a URL's shape is reversed once.
_PLACEHOLDER = uuid.UUID("00000000-0000-4000-8000-000000000000")


def url_maker(viewname: str, *fixed: Any) -> Callable[[Any], str]:
    """A function giving ``reverse(viewname, args=[*fixed, value])`` for a UUID ``value``,
    without the resolver on every call: the URL is reversed once with a placeholder."""
    before, after = reverse(viewname, args=[*fixed, _PLACEHOLDER]).split(str(_PLACEHOLDER))

    def make(value: Any) -> str:
        return f"{before}{uuid.UUID(str(value))}{after}"

    return make


def day(value: dt.date | dt.datetime | None) -> str:
    """``|date:"d.m.Y"`` of a date (an aware datetime is shown in local time, as the filter
    does), empty for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        value = timezone.localtime(value)
    return f"{value.day:02d}.{value.month:02d}.{value.year}"


def day_time(value: dt.datetime | None) -> str:
    """``|date:"d.m.Y H:i"`` in local time, empty for None."""
    if value is None:
        return ""
    from django.utils import timezone

    local = timezone.localtime(value)
    return f"{local.day:02d}.{local.month:02d}.{local.year} {local.hour:02d}:{local.minute:02d}"


def escaped(value: Any) -> str:
    """``conditional_escape``: a safe string (anything with ``__html__``) as it is, any other
    value as its text with ``& < > " '`` escaped."""
    if hasattr(value, "__html__"):
        return str(value.__html__())
    return html.escape(str(value), quote=True)


def html_format(template: str, *values: Any) -> SafeString:
    """``format_html(template, *values)``, with the escaping of :func:`escaped`."""
    return mark_safe(  # noqa: S308 - every value is escaped on the line below
        template.format(*[escaped(value) for value in values])
    )


def html_rows(template: str, rows: Iterable[Sequence[Any]]) -> SafeString:
    """``format_html_join("", template, rows)``: each row's values escaped (see
    :func:`escaped`) into ``template``'s ``{}`` fields, the rows joined."""
    fill = template.format
    return mark_safe(  # noqa: S308 - every value is escaped on the line below
        "".join([fill(*[escaped(value) for value in row]) for row in rows])
    )
