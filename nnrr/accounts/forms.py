from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from nnrr.lib.forms import NationalIdField

EGIL_LARSEN = "24019491117"


class TestIdpForm(forms.Form):
    national_id = NationalIdField(label=_("Fødselsnummer"), initial=EGIL_LARSEN)


class ChooseProfileForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)
