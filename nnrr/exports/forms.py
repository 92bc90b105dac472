"""The export page's forms: the selection (step 1) and the delivery choices (steps 2–3)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nnrr.accounts.models import Unit
from nnrr.exports.columns import FORM_ORDER
from nnrr.exports.models import ExportFormat
from nnrr.exports.query import EXPORTABLE_STATUSES, ExportFilters
from nnrr.lib.forms import NorwegianDateField

FORM_CHOICES = [(k.value, k.label) for k in FORM_ORDER]
STATUS_CHOICES = [(str(s.value), s.label) for s in EXPORTABLE_STATUSES]


class FilterForm(forms.Form):
    forms = forms.MultipleChoiceField(
        label=_("Skjematyper"),
        choices=FORM_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Velg minst én skjematype.")},
    )
    period_by = forms.ChoiceField(
        label=_("Perioden gjelder"),
        choices=[("visit", _("Besøksdato")), ("form", _("Skjemadato"))],
        initial="visit",
        widget=forms.RadioSelect,
    )
    date_from = NorwegianDateField(label=_("Fra og med"), required=False)
    date_to = NorwegianDateField(label=_("Til og med"), required=False)
    statuses = forms.MultipleChoiceField(
        label=_("Skjemastatus"),
        choices=STATUS_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Velg minst én skjemastatus.")},
    )
    own_only = forms.BooleanField(label=_("Bare egne skjema"), required=False)
    # "Vis avanserte valg"
    units = forms.TypedMultipleChoiceField(
        label=_("Enheter (tomt = alle)"),
        coerce=int,
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "ds-input", "size": 6}),
    )
    age_min = forms.IntegerField(
        label=_("Alder fra (år)"),
        required=False,
        min_value=0,
        max_value=130,
        widget=forms.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric"}),
    )
    age_max = forms.IntegerField(
        label=_("Alder til (år)"),
        required=False,
        min_value=0,
        max_value=130,
        widget=forms.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric"}),
    )
    sex = forms.ChoiceField(
        label=_("Kjønn"),
        required=False,
        choices=[("", _("Begge")), ("M", _("Mann")), ("F", _("Kvinne"))],
        widget=forms.Select(attrs={"class": "ds-input"}),
    )
    changed_since = NorwegianDateField(label=_("Endret siden"), required=False)

    def __init__(self, *args: Any, national: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.national = national
        if national:
            self.fields["units"].choices = [
                (u.pk, f"{u.short_name} ({u.pk})") for u in Unit.objects.order_by("short_name")
            ]
        else:
            del self.fields["units"]
        if not self.is_bound:
            self.initial.setdefault("forms", [k.value for k in FORM_ORDER])
            self.initial.setdefault("statuses", ["2"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
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


class DeliveryForm(forms.Form):
    identifiable = forms.BooleanField(
        label=_("Identifiserbar (med fødselsnummer og navn)"), required=False
    )
    per_export_key = forms.BooleanField(
        label=_("Per-eksport nøkkel (PasientGUID kan ikke kobles mot andre eksporter)"),
        required=False,
    )
    format = forms.ChoiceField(
        label=_("Filformat"),
        choices=ExportFormat.choices,
        initial=ExportFormat.XLSX,
        widget=forms.RadioSelect,
        error_messages={"required": _("Velg filformat.")},
    )
    delimiter = forms.ChoiceField(
        label=_("Skilletegn i CSV"),
        choices=[(";", _("Semikolon (norsk Excel)")), (",", _("Komma"))],
        initial=";",
        widget=forms.RadioSelect,
        required=False,
    )
    purpose = forms.CharField(
        label=_("Formål med eksporten"),
        help_text=_("Påkrevd. Loggføres sammen med hvem som eksporterte, når og hvilket utvalg."),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"class": "ds-input", "rows": 3}),
    )

    def __init__(self, *args: Any, may_identify: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.may_identify = may_identify
