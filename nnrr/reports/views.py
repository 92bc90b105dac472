"""The "Rapporter" pages: choose a report, period and comparison, then "Lag rapport"; the PDF
reports made by the worker; the national indicator file."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.models import Unit
from nnrr.accounts.profiles import Profile, Right
from nnrr.audit.context import Actor
from nnrr.audit.services import not_found, record_event
from nnrr.lib.dates import oslo_date
from nnrr.reports import (
    charts,
    content,
    coverage,
    documents,
    forms,
    national_file,
    notices,
    quality,
    tasks,
)
from nnrr.reports import config as report_config
from nnrr.reports.forms import (
    CoverageForm,
    DocumentForm,
    NationalFileForm,
    ReportForm,
    SubscriptionForm,
)
from nnrr.reports.models import CoverageEntry, ReportDocument, Subscription


def _form(request: HttpRequest, profile: Profile, data: Any = None) -> ReportForm:
    return ReportForm(data, sees_all=profile.is_national)


@profile_required(Right.REPORTS)
def index(request: HttpRequest) -> HttpResponse:
    """The choices; "Lag ny rapport basert på denne" comes back here with them filled in."""
    profile = access.require_right(request, Right.REPORTS)
    initial = ReportForm.defaults()
    if profile.is_national:
        initial["enhet"] = profile.unit.pk
    if request.GET:
        form = _form(request, profile, request.GET)
        form.is_valid()  # shows what is wrong, if anything, with the choices kept
        if not form.errors:
            form = ReportForm(initial=form.cleaned_data, sees_all=profile.is_national)
    else:
        form = ReportForm(initial=initial, sees_all=profile.is_national)
    return render(
        request,
        "reports/index.html",
        {"form": form, "reports": content.REPORTS, "sees_all": profile.is_national},
    )


@profile_required(Right.REPORTS)
def show(request: HttpRequest) -> HttpResponse:
    profile = access.require_right(request, Right.REPORTS)
    form = _form(request, profile, request.GET or None)
    if not request.GET or not form.is_valid():
        return render(
            request,
            "reports/index.html",
            {"form": form, "reports": content.REPORTS, "sees_all": profile.is_national},
            status=400 if request.GET else 200,
        )
    data = form.cleaned_data
    unit = profile.unit
    if profile.is_national and data.get("enhet"):
        unit = Unit.objects.get(pk=data["enhet"])
    choices = content.Choices(
        report=data["rapport"],
        first_year=data["fra"],
        last_year=data["til"],
        comparison=data["sammenligning"],
        unit=unit,
        viewer_sees_all=profile.is_national,
        adjusted=bool(data.get("justert")),
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


@profile_required(Right.REPORTS)
def chart_image(request: HttpRequest, token: str) -> HttpResponse:
    """One chart of a report page as SVG, drawn the first time it is asked for (the page itself
    only describes its charts: reports/charts.py). The token names the chart and the profile the
    page was made for; any other profile, a changed token or a chart no longer described gets
    404. Aggregates only, like the page (not audited again: the page wrote nnrr.report.viewed)."""
    profile = access.require_right(request, Right.REPORTS)
    try:
        key, membership_id = signing.loads(
            token, salt=charts.SIGNED_AS, max_age=charts.SPEC_SECONDS
        )
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise Http404(_("Finnes ikke")) from exc
    if membership_id != profile.membership_id or not isinstance(key, str):
        raise Http404(_("Finnes ikke"))
    svg = charts.drawing(key)
    if svg is None:
        raise Http404(_("Finnes ikke"))
    return HttpResponse(svg, content_type="image/svg+xml")


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


# --- PDF documents ------------------------------------------------------------------------------


def _document(request: HttpRequest, profile: Profile, document_id: uuid.UUID) -> ReportDocument:
    """A document the profile may open: made from its own unit (the secretariat: any)."""
    document = ReportDocument.objects.select_related("unit").filter(pk=document_id).first()
    if document is None or not (
        profile.is_national or document.requested_unit_id == profile.unit.pk
    ):
        raise not_found(request, "report_document", document_id)
    return document


@profile_required(Right.REPORTS)
def documents_view(request: HttpRequest) -> HttpResponse:
    """ "PDF-rapporter": order a quarterly or annual report; the worker makes it."""
    profile = access.require_right(request, Right.REPORTS)
    form = DocumentForm(request.POST or None, sees_all=profile.is_national, unit=profile.unit)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["type"]
        today = oslo_date(timezone.now())
        if kind == ReportDocument.Kind.QUARTERLY:
            period_end = documents.last_completed_quarter_end(today)
            unit = form.cleaned_data.get("enhet_obj") or profile.unit
        else:
            period_end = dt.date(form.cleaned_data["aar"], 12, 31)
            unit = profile.unit
        document = ReportDocument.objects.create(
            kind=kind,
            unit=unit,
            period_end=period_end,
            requested_by=profile.user,
            requested_unit=profile.unit,
            national=profile.is_national,
        )
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.report.document_ordered",
            obj=document,
            detail={"kind": kind, "unit": unit.pk, "period_end": period_end.isoformat()},
        )
        tasks.make_document.enqueue(str(document.pk))
        return redirect("reports:document", document_id=document.pk)
    recent = ReportDocument.objects.select_related("unit").defer("pdf")
    if not profile.is_national:
        recent = recent.filter(requested_unit=profile.unit)
    return render(
        request,
        "reports/documents.html",
        {"form": form, "documents": recent[:20]},
        status=400 if request.method == "POST" else 200,
    )


@profile_required(Right.REPORTS)
def document_view(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    profile = access.require_right(request, Right.REPORTS)
    if request.method != "GET":
        raise not_found(request, "report_document", document_id)
    document = _document(request, profile, document_id)
    template = (
        "reports/_document_status.html" if request.GET.get("del") else "reports/document.html"
    )
    return render(request, template, {"document": document, "title": documents.title(document)})


@profile_required(Right.REPORTS)
def document_download(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    profile = access.require_right(request, Right.REPORTS)
    if request.method != "GET":
        raise not_found(request, "report_document", document_id)
    document = _document(request, profile, document_id)
    if document.state != ReportDocument.State.DONE or not document.pdf:
        return redirect("reports:document", document_id=document.pk)
    record_event(actor=Actor.from_request(request), action="nnrr.report.downloaded", obj=document)
    name = documents.title(document).lower().replace(" ", "-").replace(",", "").replace(".", "")
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="nnrr-{name}.pdf"'
    return response


# --- Coverage -----------------------------------------------------------------------------------


@profile_required(Right.REPORTS)
def coverage_view(request: HttpRequest) -> HttpResponse:
    """ "Dekningsgrad": eligible patients per half-year; a correction is a new entry (history)."""
    profile = access.require_right(request, Right.REPORTS)
    if not coverage.may_enter(profile):
        raise PermissionDenied(_("Din rolle gir ikke tilgang til denne funksjonen."))
    unit = profile.unit
    units = list(Unit.objects.filter(is_active=True)) if profile.is_national else [unit]
    chosen = request.POST.get("enhet") or request.GET.get("enhet")
    if profile.is_national and chosen:
        unit = next((u for u in units if str(u.pk) == chosen), unit)
    form = CoverageForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        entry = CoverageEntry.objects.create(
            unit=unit,
            year=form.cleaned_data["aar"],
            half=form.cleaned_data["halvaar"],
            eligible=form.cleaned_data["antall"],
            note=form.cleaned_data["merknad"],
            entered_by=profile.user,
            entered_by_name=str(profile.user)[:200],
            entered_at=timezone.now(),
        )
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.report.coverage_entered",
            obj=entry,
            detail={"unit": unit.pk, "year": entry.year, "half": entry.half},
        )
        messages.success(
            request,
            _("Registrert: %(n)s aktuelle pasienter for %(half)s. halvår %(year)s.")
            % {"n": entry.eligible, "half": entry.half, "year": entry.year},
        )
        return redirect(f"{reverse('reports:coverage')}?enhet={unit.pk}")
    today = oslo_date(timezone.now())
    if request.method != "POST":
        year, half = coverage.last_completed_half(today)
        form = CoverageForm(initial={"aar": year, "halvaar": half})
    return render(
        request,
        "reports/coverage.html",
        {
            "form": form,
            "unit": unit,
            "units": units if profile.is_national else [],
            "periods": coverage.periods(unit, today),
            "history": CoverageEntry.objects.filter(unit=unit).order_by("-entered_at", "-pk")[:50],
        },
        status=400 if request.method == "POST" else 200,
    )


# --- Datakvalitet -------------------------------------------------------------------------------


@profile_required(Right.REPORTS)
def quality_view(request: HttpRequest) -> HttpResponse:
    """ "Datakvalitet": completeness and consistency of the registrations per unit and year, for
    the Lokal registeransvarlig (own unit) and the Registeradministrator (any or all units)."""
    profile = access.require_right(request, Right.REPORTS)
    if not coverage.may_enter(profile):
        raise PermissionDenied(_("Din rolle gir ikke tilgang til denne funksjonen."))
    everyone = profile.is_national
    all_units = list(Unit.objects.filter(is_active=True).order_by("short_name"))
    latest = oslo_date(timezone.now()).year
    errors = []
    raw_year = request.GET.get("aar", "").strip()
    year = latest
    if raw_year:
        if raw_year.isdigit() and forms.FIRST_YEAR <= int(raw_year) <= latest:
            year = int(raw_year)
        else:
            errors.append(
                _("Velg et år mellom %(first)s og %(last)s.")
                % {"first": forms.FIRST_YEAR, "last": latest}
            )
    chosen = request.GET.get("enhet", "").strip()
    units = [profile.unit]
    if everyone:
        if chosen == "alle":
            units = all_units
        elif chosen:
            match = [u for u in all_units if str(u.pk) == chosen]
            if match:
                units = match
            else:
                errors.append(_("Ukjent enhet."))
    if errors:
        results: list[quality.UnitQuality] = []
    else:
        results = quality.assess(units=units, year=year)
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.report.data_quality",
            object_type="report",
            object_id="datakvalitet",
            detail={
                "year": year,
                "units": [u.pk for u in units],
                "format": request.GET.get("format", "html"),
            },
        )
    if not errors and request.GET.get("format") == "csv":
        response = HttpResponse(quality.csv_text(results), content_type="text/csv; charset=utf-8")
        scope = "alle" if len(units) > 1 else str(units[0].pk)
        name = f"nnrr-datakvalitet-{scope}-{year}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    query = urlencode({"aar": year, **({"enhet": chosen} if everyone and chosen else {})})
    return render(
        request,
        "reports/quality.html",
        {
            "results": results,
            "year": year,
            "errors": errors,
            "units": all_units if everyone else [],
            "chosen": chosen,
            "csv_url": f"{reverse('reports:quality')}?{query}&format=csv",
            "form_order": quality.FORM_ORDER,
            "late_days": quality.LATE_DAYS,
        },
        status=400 if errors else 200,
    )


# --- Subscriptions ------------------------------------------------------------------------------


def _subscriptions(profile: Profile) -> Any:
    """The profile's own subscriptions at its unit; the secretariat sees them all."""
    queryset = Subscription.objects.select_related("unit", "user")
    if profile.is_national:
        return queryset
    return queryset.filter(user=profile.user, unit=profile.unit)


@profile_required(Right.REPORTS)
def subscriptions_view(request: HttpRequest) -> HttpResponse:
    """ "Abonnement": the unit's quarterly report by e-mail, monthly, quarterly or yearly."""
    profile = access.require_right(request, Right.REPORTS)
    form = SubscriptionForm(
        request.POST or None,
        sees_all=profile.is_national,
        initial={
            "hyppighet": Subscription.Frequency.QUARTERLY,
            "start": oslo_date(timezone.now()),
            "epost": profile.user.email,
            "enhet": profile.unit.pk,
        },
    )
    if request.method == "POST" and form.is_valid():
        unit = profile.unit
        if profile.is_national and form.cleaned_data.get("enhet"):
            unit = Unit.objects.get(pk=form.cleaned_data["enhet"])
        start = form.cleaned_data["start"]
        own = not profile.is_national or form.cleaned_data["epost"] == profile.user.email
        subscription = Subscription.objects.create(
            user=profile.user if own else None,
            email=form.cleaned_data["epost"],
            unit=unit,
            created_by_unit=profile.unit,
            frequency=form.cleaned_data["hyppighet"],
            start_date=start,
            end_date=notices.end_for(start),
            next_due=start,
        )
        record_event(
            actor=Actor.from_request(request),
            action="nnrr.report.subscribed",
            obj=subscription,
            detail={"unit": unit.pk, "frequency": subscription.frequency},
        )
        notices.schedule(subscription)
        messages.success(
            request,
            _("Abonnementet er registrert. Første e-post sendes %(date)s.")
            % {"date": f"{start:%d.%m.%Y}"},
        )
        return redirect("reports:subscriptions")
    return render(
        request,
        "reports/subscriptions.html",
        {
            "form": form,
            "subscriptions": _subscriptions(profile).order_by("cancelled_at", "-created_at")[:100],
            "sees_all": profile.is_national,
        },
        status=400 if request.method == "POST" else 200,
    )


# The audit event of each change a subscription's page offers.
SUBSCRIPTION_EVENTS = {
    "avslutt": "nnrr.report.subscription_avslutt",
    "forny": "nnrr.report.subscription_forny",
}


@profile_required(Right.REPORTS)
def subscription_change(request: HttpRequest, subscription_id: uuid.UUID) -> HttpResponse:
    """ "Avslutt" or "Forny" (three more years from today) one subscription."""
    profile = access.require_right(request, Right.REPORTS)
    subscription = _subscriptions(profile).filter(pk=subscription_id).first()
    if subscription is None or request.method != "POST":
        if subscription is None:
            raise not_found(request, "report_subscription", subscription_id)
        return redirect("reports:subscriptions")
    action = request.POST.get("handling")
    today = oslo_date(timezone.now())
    if action == "avslutt" and subscription.cancelled_at is None:
        subscription.cancelled_at = timezone.now()
        subscription.save(update_fields=["cancelled_at"])
        messages.success(request, _("Abonnementet er avsluttet."))
    elif action == "forny":
        subscription.cancelled_at = None
        subscription.end_date = notices.end_for(today)
        if subscription.next_due < today:
            subscription.next_due = notices.next_after(
                today - dt.timedelta(days=1), subscription.frequency, subscription.start_date
            )
        subscription.save(update_fields=["cancelled_at", "end_date", "next_due"])
        notices.schedule(subscription)
        messages.success(
            request,
            _("Abonnementet er fornyet til og med %(date)s.")
            % {"date": f"{subscription.end_date:%d.%m.%Y}"},
        )
    else:
        messages.error(request, _("Ukjent handling."))
        return redirect("reports:subscriptions")
    record_event(
        actor=Actor.from_request(request),
        action=SUBSCRIPTION_EVENTS[action],
        obj=subscription,
    )
    return redirect("reports:subscriptions")
