"""Form fields shared by the apps."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from nnrr.lib.dates import in_supported_range, parse_iso_date
from nnrr.lib.national_id import NationalId, NationalIdError, parse_national_id


class NationalIdField(forms.CharField):
    """A fødselsnummer/D-number; cleans to the parsed :class:`NationalId`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", _("Fødselsnummer"))
        kwargs.setdefault("max_length", 20)
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={"inputmode": "numeric", "autocomplete": "off", "class": "ds-input"}
            ),
        )
        super().__init__(**kwargs)
        self.error_messages["required"] = _("Skriv inn et fødselsnummer (11 siffer).")

    def clean(self, value: Any) -> NationalId:
        raw = super().clean(value)
        try:
            return parse_national_id(raw)
        except NationalIdError as exc:
            raise forms.ValidationError(exc.messages[0], code=exc.code) from exc


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"class": "ds-input", **(attrs or {})}, format="%Y-%m-%d")


class NorwegianDateField(forms.DateField):
    """A date typed as YYYY-MM-DD (the browser's date picker) or DD.MM.YYYY."""

    widget = DateInput
    default_error_messages = {
        "invalid": _("Skriv datoen som dd.mm.åååå."),
        "out_of_range": _("Datoen må være mellom 01.01.1900 og 31.12.2100."),
    }

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            if not in_supported_range(value):
                raise forms.ValidationError(
                    self.error_messages["out_of_range"], code="out_of_range"
                )
            return value
        parsed = parse_iso_date(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if not in_supported_range(parsed):
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return parsed
