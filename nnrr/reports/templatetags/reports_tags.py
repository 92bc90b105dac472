"""``{% coverage_reminder %}``: the front page's reminder when a half-year's coverage is missing.
``{% chart_src chart %}``: where a report section's ``<img>`` gets its chart."""

from __future__ import annotations

from typing import Any

from django import template
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from nnrr.accounts.models import Unit
from nnrr.lib.dates import oslo_date
from nnrr.reports import charts, coverage

register = template.Library()


@register.inclusion_tag("reports/_coverage_reminder.html", takes_context=True)
def coverage_reminder(context: dict[str, Any]) -> dict[str, Any]:
    profile = context.get("profile")
    if profile is None or not coverage.may_enter(profile):
        return {"show": False}
    today = oslo_date(timezone.now())
    year, half = coverage.last_completed_half(today)
    if profile.has(coverage.Right.ADMINISTER):
        missing = coverage.missing_last_half(list(Unit.objects.filter(is_active=True)), today)
        return {
            "show": bool(missing),
            "national": True,
            "missing": missing,
            "year": year,
            "half": half,
        }
    missing = coverage.missing_last_half([profile.unit], today)
    return {
        "show": bool(missing),
        "national": False,
        "year": year,
        "half": half,
        "unit": profile.unit,
    }


@register.simple_tag(takes_context=True)
def chart_src(context: Any, chart: Any) -> str:
    """The chart inline for the PDF (``inline_charts``); on the page, the URL of its image,
    signed for the viewer's profile (the browser fetches it after the page: reports/charts.py)."""
    if context.get("inline_charts"):
        return str(chart.uri)
    profile = context["request"].profile
    token = signing.dumps([chart.key, profile.membership_id], salt=charts.SIGNED_AS)
    return reverse("reports:chart", args=[token])
