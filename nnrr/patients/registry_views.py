"""The Registeradministrator's registry-wide consent withdrawal: the patient asked that the
withdrawal apply at every unit. A unit's own withdrawal touches only its own record
(docs/decisions/0013-patient-record-per-unit.md)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from nnrr import access
from nnrr.accounts.decorators import profile_required
from nnrr.accounts.profiles import Right
from nnrr.audit.context import Actor
from nnrr.audit.services import record_event
from nnrr.lib.forms import NationalIdField
from nnrr.patients.models import Course
from nnrr.scheduling import services as scheduling


class RegistryWithdrawalForm(forms.Form):
    national_id = NationalIdField()
    reason = forms.CharField(
        label=gettext_lazy("Årsak oppgitt av pasienten"),
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"class": "ds-input", "autocomplete": "off"}),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "Jeg bekrefter at pasienten har bedt om at samtykket trekkes ved alle enheter"
        ),
        required=False,
    )


@profile_required(Right.ADMINISTER)
@require_http_methods(["GET", "POST"])
def registry_withdraw(request: HttpRequest) -> HttpResponse:
    """Look the number up (how many units hold a record, how many open courses), then withdraw
    at all of them. The number is only ever posted, never put in a URL."""
    access.require_right(request, Right.ADMINISTER)
    form = RegistryWithdrawalForm(request.POST if request.method == "POST" else None)
    context: dict[str, object] = {"form": form}
    if request.method != "POST" or not form.is_valid():
        return render(request, "patients/registry_withdraw.html", context)
    national_id = form.cleaned_data["national_id"].value
    if request.POST.get("action") == "withdraw":
        reason = form.cleaned_data["reason"].strip()
        if not reason or not form.cleaned_data["confirm"]:
            form.add_error(
                None,
                _("Skriv årsaken pasienten oppga (eller «ikke oppgitt») og bekreft."),
            )
        else:
            result = scheduling.withdraw_consent_everywhere(
                actor=Actor.from_request(request),
                national_id=national_id,
                reason=reason,
                now=timezone.now(),
            )
            if result.records:
                messages.success(
                    request,
                    ngettext(
                        "Samtykket er trukket ved %(records)d enhet. %(courses)d forløp er "
                        "slettet.",
                        "Samtykket er trukket ved %(records)d enheter. %(courses)d forløp er "
                        "slettet.",
                        result.records,
                    )
                    % {"records": result.records, "courses": result.courses},
                )
                return redirect("patients:registry_withdraw")
            form.add_error(None, _("Fødselsnummeret er ikke registrert ved noen enhet."))
    records = access.registry_records(request, national_id)
    context.update(
        looked_up=True,
        records=records.count(),
        courses=Course.objects.filter(patient__in=records, status=Course.Status.ACTIVE).count(),
    )
    # One row for the look-up; the number itself only as a keyed hash (the person's records
    # are named by the withdrawal's own events if it goes ahead).
    record_event(
        actor=Actor.from_request(request),
        action="nnrr.consent.registry_withdrawal_opened",
        object_type="national_id_hmac",
        object_id=access.national_id_digest(national_id),
        detail={"records": context["records"]},
    )
    return render(request, "patients/registry_withdraw.html", context)
