"""Forms of "Søk om tilgang" and the administration pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nnrr.accounts.models import DATA_ROLES, FORM_ROLES, Role, Unit
from nnrr.lib.forms import NationalIdField, NorwegianDateField

TEXT = {"class": "ds-input"}

ROLE_HELP = {
    Role.PASIENTANSVARLIG: _("Søke opp og registrere pasienter, opprette og ferdigstille skjema"),
    Role.LOKAL_REGISTERANSVARLIG: _("Som over, og eksport, rapporter og logg for egen enhet"),
    Role.DATADUMPRAPPORTLESER: _("Eksportere egen enhets data"),
    Role.RAPPORTLESER: _("Generere grafiske rapporter"),
}


def _role_choices(roles: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(str(r), f"{Role(r).label} – {ROLE_HELP[Role(r)]}") for r in roles]


def _valid_date(value: dt.date | None) -> dt.date | None:
    if value is not None and not (dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31)):
        raise forms.ValidationError(_("Velg en dato mellom år 2000 og 2100."))
    return value


class ApplicationForm(forms.Form):
    work_email = forms.EmailField(
        label=_("E-post på jobb"),
        max_length=254,
        widget=forms.EmailInput(attrs={**TEXT, "autocomplete": "email"}),
        help_text=_("Bruk jobb-e-posten din. Svaret på søknaden kommer hit."),
    )
    unit = forms.ModelChoiceField(
        label=_("Enhet"),
        queryset=Unit.objects.filter(is_active=True).order_by("name"),
        empty_label=_("Velg enhet"),
        widget=forms.Select(attrs=TEXT),
    )
    form_roles = forms.MultipleChoiceField(
        label=_("Skjema"),
        choices=_role_choices(FORM_ROLES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("De fleste (behandlere og merkantilt personell) trenger denne."),
    )
    data_roles = forms.MultipleChoiceField(
        label=_("Rapport- og databehandling"),
        choices=_role_choices(DATA_ROLES),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For eksport og rapporter, f.eks. lokal registeransvarlig eller leder."),
    )
    identifiable_export = forms.BooleanField(
        label=_("Eksport med personopplysninger (krever egen godkjenning)"), required=False
    )
    comment = forms.CharField(
        label=_("Kommentar: din rolle i NNRR"),
        max_length=1000,
        error_messages={"required": _("Skriv kort hvilken rolle du har.")},
        widget=forms.Textarea(attrs={**TEXT, "rows": 3}),
        help_text=_(
            "For eksempel «Pasientbehandler», «Merkantil» eller «Lokal registeransvarlig»."
        ),
    )

    def clean_comment(self) -> str:
        value = self.cleaned_data["comment"].replace("\x00", "").strip()
        if not value:
            raise forms.ValidationError(_("Skriv kort hvilken rolle du har."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        roles = list(data.get("form_roles") or []) + list(data.get("data_roles") or [])
        if not roles and not self.errors:
            raise forms.ValidationError(_("Kryss av for minst én tilgang."))
        if data.get("identifiable_export") and not (set(roles) & set(DATA_ROLES)):
            self.add_error(
                "identifiable_export",
                _(
                    "Eksport med personopplysninger krever en rolle under "
                    "«Rapport- og databehandling»."
                ),
            )
        data["roles"] = roles
        return data


class ApproveForm(forms.Form):
    valid_until = NorwegianDateField(label=_("Gyldig til og med (valgfritt)"), required=False)

    def clean_valid_until(self) -> dt.date | None:
        return _valid_date(self.cleaned_data.get("valid_until"))


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("Begrunnelse for avslag"),
        max_length=1000,
        error_messages={"required": _("Skriv en begrunnelse for avslaget.")},
        widget=forms.Textarea(attrs={**TEXT, "rows": 3}),
        help_text=_("Sendes til søkeren på e-post. Skriv ingen helseopplysninger."),
    )

    def clean_reason(self) -> str:
        value = self.cleaned_data["reason"].replace("\x00", "").strip()
        if not value:
            raise forms.ValidationError(_("Skriv en begrunnelse for avslaget."))
        return value


class GrantForm(forms.Form):
    # No unit is chosen beforehand: a role given at the administrator's own unit by mistake
    # gives access to that unit's patients.
    unit = forms.ModelChoiceField(
        label=_("Enhet"),
        queryset=Unit.objects.none(),
        empty_label=_("Velg enhet"),
        error_messages={"required": _("Velg enheten rollen gjelder.")},
        widget=forms.Select(attrs=TEXT),
    )
    role = forms.ChoiceField(label=_("Rolle"), choices=(), widget=forms.Select(attrs=TEXT))
    valid_until = NorwegianDateField(label=_("Gyldig til og med (valgfritt)"), required=False)
    can_export_identifiable = forms.BooleanField(
        label=_("Kan eksportere identifiserbare data"), required=False
    )

    def __init__(self, *args: Any, units: Any, roles: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["role"].choices = [(r, Role(r).label) for r in roles]  # type: ignore[attr-defined]

    def clean_valid_until(self) -> dt.date | None:
        return _valid_date(self.cleaned_data.get("valid_until"))


class MembershipForm(forms.Form):
    valid_until = NorwegianDateField(label=_("Gyldig til og med"), required=False)
    can_export_identifiable = forms.BooleanField(
        label=_("Kan eksportere identifiserbare data"), required=False
    )

    def clean_valid_until(self) -> dt.date | None:
        return _valid_date(self.cleaned_data.get("valid_until"))


class NewUserForm(forms.Form):
    full_name = forms.CharField(label=_("Navn"), max_length=200, widget=forms.TextInput(attrs=TEXT))
    national_id = NationalIdField(label=_("Fødselsnummer"))
    email = forms.EmailField(
        label=_("E-post på jobb"), required=False, widget=forms.EmailInput(attrs=TEXT)
    )

    def clean_full_name(self) -> str:
        value = self.cleaned_data["full_name"].replace("\x00", "").strip()
        if not value:
            raise forms.ValidationError(_("Skriv navnet."))
        return value


class UnitForm(forms.Form):
    resh_id = forms.IntegerField(
        label=_("reshID"), min_value=1, max_value=99_999_999, widget=forms.NumberInput(attrs=TEXT)
    )
    name = forms.CharField(label=_("Navn"), max_length=200, widget=forms.TextInput(attrs=TEXT))
    short_name = forms.CharField(
        label=_("Kortnavn"), max_length=60, widget=forms.TextInput(attrs=TEXT)
    )
    organisation_number = forms.RegexField(
        label=_("Organisasjonsnummer"),
        regex=r"^[0-9]{9}$",
        error_messages={"invalid": _("Organisasjonsnummeret har 9 siffer.")},
        widget=forms.TextInput(attrs={**TEXT, "inputmode": "numeric"}),
    )
    is_active = forms.BooleanField(label=_("Aktiv"), required=False, initial=True)

    def clean_name(self) -> str:
        return self.cleaned_data["name"].replace("\x00", "").strip()

    def clean_short_name(self) -> str:
        return self.cleaned_data["short_name"].replace("\x00", "").strip()
