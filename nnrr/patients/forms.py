from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nnrr.lib.forms import NationalIdField, NorwegianDateField


class PatientSearchForm(forms.Form):
    national_id = NationalIdField()


class RegisterPatientForm(forms.Form):
    national_id = NationalIdField(widget=forms.HiddenInput)
    name = forms.CharField(
        label=_("Navn"),
        max_length=200,
        widget=forms.TextInput(attrs={"class": "ds-input", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label=_("E-post for varsel (valgfritt)"),
        required=False,
        widget=forms.EmailInput(attrs={"class": "ds-input", "autocomplete": "off"}),
    )
    mobile = forms.CharField(
        label=_("Mobil (valgfritt)"),
        max_length=20,
        required=False,
        widget=forms.TextInput(
            attrs={"class": "ds-input", "inputmode": "tel", "autocomplete": "off"}
        ),
    )

    def clean_name(self) -> str:
        name = " ".join(self.cleaned_data["name"].split())
        if len(name) < 2:
            raise forms.ValidationError(_("Skriv pasientens fulle navn."))
        return name


class BookingForm(forms.Form):
    referral_date = NorwegianDateField(label=_("Henvisningsdato"))
    planned_consultation_date = NorwegianDateField(label=_("Planlagt dato for konsultasjon"))
    # A version beyond the column's range is simply not the one on record (a conflict).
    version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, min_value=0, max_value=2**31 - 1
    )

    error_messages = {"required": _("Fyll inn datoen.")}

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in ("referral_date", "planned_consultation_date"):
            self.fields[name].error_messages["required"] = _("Fyll inn %(label)s.") % {
                "label": str(self.fields[name].label).lower()
            }


class ContactForm(forms.Form):
    email = RegisterPatientForm.base_fields["email"]
    mobile = RegisterPatientForm.base_fields["mobile"]
