from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ReferralDateForm(forms.Form):
    """The Henvisningsdato a message lacked, given by staff before "Behandle på nytt"."""

    referral_date = forms.DateField(
        label=_("Henvisningsdato"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("Oppgi henvisningsdato."),
            "invalid": _("Skriv datoen som dd.mm.åååå."),
        },
    )
