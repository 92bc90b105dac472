""" "Rapporter": choose a report, period and comparison → "Lag rapport"; the national file."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import Unit
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.reports import config as report_config
from nnrr.reports import content, forms, national_file
from nnrr.reports.forms import NationalFileForm, ReportForm


def sees_all(profile: Profile) -> bool:
    """The national secretariat sees every unit; other roles their own unit against the rest."""
    return profile.has(Right.ADMINISTER)


def _form(request: HttpRequest, profile: Profile, data: Any = None) -> ReportForm:
    return ReportForm(data, sees_all=sees_all(profile))


@profile_required(Right.REPORTS)
def index(request: HttpRequest) -> HttpResponse:
    """The choices; "Lag ny rapport basert på denne" comes back here with them filled in."""
    profile = access.require_right(request, Right.REPORTS)
    initial = ReportForm.defaults()
    if sees_all(profile):
        initial["enhet"] = profile.unit.pk
    if request.GET:
        form = _form(request, profile, request.GET)
        form.is_valid()  # shows what is wrong, if anything, with the choices kept
        if not form.errors:
            form = ReportForm(initial=form.cleaned_data, sees_all=sees_all(profile))
    else:
        form = ReportForm(initial=initial, sees_all=sees_all(profile))
    return render(
        request,
        "reports/index.html",
        {"form": form, "reports": content.REPORTS, "sees_all": sees_all(profile)},
    )


@profile_required(Right.REPORTS)
def show(request: HttpRequest) -> HttpResponse:
    profile = access.require_right(request, Right.REPORTS)
    form = _form(request, profile, request.GET or None)
    if not request.GET or not form.is_valid():
        return render(
            request,
            "reports/index.html",
            {"form": form, "reports": content.REPORTS, "sees_all": sees_all(profile)},
            status=400 if request.GET else 200,
        )
    data = form.cleaned_data
    unit = profile.unit
    if sees_all(profile) and data.get("enhet"):
        unit = Unit.objects.get(pk=data["enhet"])
    choices = content.Choices(
        report=data["rapport"],
        first_year=data["fra"],
        last_year=data["til"],
        comparison=data["sammenligning"],
        unit=unit,
        viewer_sees_all=sees_all(profile),
    )
    report = content.build(choices)
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.report.viewed",
        object_type="report",
        object_id=choices.report,
        detail={
            "report": choices.report,
            "years": [choices.first_year, choices.last_year],
            "comparison": choices.comparison,
            "unit": unit.pk,
        },
    )
    query = urlencode({k: v for k, v in request.GET.items() if k in form.fields})
    return render(
        request,
        "reports/show.html",
        {
            "report": report,
            "choices": choices,
            "again_url": f"{reverse('reports:index')}?{query}",
            "comparison_label": dict(forms.COMPARISONS)[choices.comparison],
        },
    )


@profile_required(Right.ADMINISTER)
def national_file_view(request: HttpRequest) -> HttpResponse:
    """The national indicator file for the secretariat (the same file as ``nnrr indicators``)."""
    access.require_right(request, Right.REPORTS)
    cfg = report_config.load()
    form = NationalFileForm(request.GET or None, earliest=cfg.national_file_from_year)
    if request.GET and form.is_valid():
        first, last = form.cleaned_data["fra"], form.cleaned_data["til"]
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.report.national_file",
            object_type="report",
            object_id="national_file",
            detail={"years": [first, last]},
        )
        response = StreamingHttpResponse(
            national_file.stream(first, last), content_type="text/csv; charset=utf-8"
        )
        name = f"nnrr-indikatorer-{first}-{last}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response  # type: ignore[return-value]
    if not request.GET:
        year = content_year()
        form = NationalFileForm(
            initial={"fra": max(cfg.national_file_from_year, year - 3), "til": year - 1},
            earliest=cfg.national_file_from_year,
        )
    return render(
        request,
        "reports/national_file.html",
        {
            "form": form,
            "earliest": cfg.national_file_from_year,
            "title": _("Nasjonal indikatorfil"),
        },
        status=400 if request.GET else 200,
    )


def content_year() -> int:
    from nnrr.reports.forms import current_year

    return current_year()
