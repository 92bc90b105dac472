"""The export page's forms: the selection (step 1) and the delivery choices (steps 2–3)."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms as dj
from django.utils.translation import gettext_lazy as _

from nnrr.accounts.models import Unit
from nnrr.exports.columns import FORM_ORDER
from nnrr.exports.models import ExportFormat
from nnrr.exports.query import EXPORTABLE_STATUSES, ExportFilters
from nnrr.lib.forms import NorwegianDateField

FORM_CHOICES = [(k.value, k.label) for k in FORM_ORDER]
STATUS_CHOICES = [(str(s.value), s.label) for s in EXPORTABLE_STATUSES]


class FilterForm(dj.Form):
    forms = dj.MultipleChoiceField(
        label=_("Skjematyper"),
        choices=FORM_CHOICES,
        widget=dj.CheckboxSelectMultiple,
        error_messages={"required": _("Velg minst én skjematype.")},
    )
    period_by = dj.ChoiceField(
        label=_("Perioden gjelder"),
        choices=[("visit", _("Besøksdato")), ("form", _("Skjemadato"))],
        initial="visit",
        widget=dj.RadioSelect,
    )
    date_from = NorwegianDateField(label=_("Fra og med"), required=False)
    date_to = NorwegianDateField(label=_("Til og med"), required=False)
    statuses = dj.MultipleChoiceField(
        label=_("Skjemastatus"),
        choices=STATUS_CHOICES,
        widget=dj.CheckboxSelectMultiple,
        error_messages={"required": _("Velg minst én skjemastatus.")},
    )
    own_only = dj.BooleanField(
        label=_("Bare egne skjema"),
        required=False,
        help_text=_("Bare skjema du selv eier (har opprettet eller fått overført)."),
    )
    # "Vis avanserte valg"
    units = dj.TypedMultipleChoiceField(
        label=_("Enheter (tomt = alle)"),
        coerce=int,
        required=False,
        widget=dj.SelectMultiple(attrs={"class": "ds-input", "size": 6}),
    )
    age_min = dj.IntegerField(
        label=_("Alder fra (år)"),
        required=False,
        min_value=0,
        max_value=130,
        widget=dj.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric"}),
    )
    age_max = dj.IntegerField(
        label=_("Alder til (år)"),
        required=False,
        min_value=0,
        max_value=130,
        widget=dj.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric"}),
    )
    sex = dj.ChoiceField(
        label=_("Kjønn"),
        required=False,
        choices=[("", _("Begge")), ("M", _("Mann")), ("F", _("Kvinne"))],
        widget=dj.Select(attrs={"class": "ds-input"}),
    )
    changed_since = NorwegianDateField(label=_("Endret siden"), required=False)

    def __init__(self, *args: Any, national: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.national = national
        if national:
            self.fields["units"].choices = [  # type: ignore[attr-defined]
                (u.pk, f"{u.short_name} ({u.pk})") for u in Unit.objects.order_by("short_name")
            ]
        else:
            del self.fields["units"]
        if not self.is_bound:
            self.initial.setdefault("forms", [k.value for k in FORM_ORDER])
            self.initial.setdefault("statuses", ["2"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Til-datoen er før fra-datoen."))
        low, high = data.get("age_min"), data.get("age_max")
        if low is not None and high is not None and low > high:
            self.add_error("age_max", _("Høyeste alder er under laveste alder."))
        return data

    def filters(self) -> ExportFilters:
        data = self.cleaned_data
        return ExportFilters(
            forms=tuple(k for k in (f.value for f in FORM_ORDER) if k in data["forms"]),
            statuses=tuple(sorted(int(s) for s in data["statuses"])),
            period_by=data["period_by"] or "visit",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            own_only=bool(data.get("own_only")),
            units=tuple(sorted(data.get("units") or ())),
            sex=data.get("sex") or "",
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            changed_since=data.get("changed_since"),
        )


class DeliveryForm(dj.Form):
    identifiable = dj.BooleanField(
        label=_("Identifiserbar (med fødselsnummer og navn)"), required=False
    )
    per_export_key = dj.BooleanField(
        label=_("Per-eksport nøkkel (PasientGUID kan ikke kobles mot andre eksporter)"),
        required=False,
    )
    format = dj.ChoiceField(
        label=_("Filformat"),
        choices=ExportFormat.choices,
        initial=ExportFormat.XLSX,
        widget=dj.RadioSelect,
        error_messages={"required": _("Velg filformat.")},
    )
    delimiter = dj.ChoiceField(
        label=_("Skilletegn i CSV"),
        choices=[(";", _("Semikolon (norsk Excel)")), (",", _("Komma"))],
        initial=";",
        widget=dj.RadioSelect,
        required=False,
    )
    purpose = dj.CharField(
        label=_("Formål med eksporten"),
        help_text=_("Påkrevd. Loggføres sammen med hvem som eksporterte, når og hvilket utvalg."),
        max_length=2000,
        required=False,
        widget=dj.Textarea(attrs={"class": "ds-input", "rows": 3}),
    )

    token = dj.CharField(required=False, max_length=64, widget=dj.HiddenInput)

    def __init__(self, *args: Any, may_identify: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_identify = may_identify
        if not self.is_bound:
            self.initial.setdefault("token", secrets.token_urlsafe(24))
