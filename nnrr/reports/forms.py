"""The report choices: which report, which years, which comparison (and, for the secretariat,
which unit). Submitted by GET so a report's address holds its choices and can be bookmarked."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from nnrr.accounts.models import Unit
from nnrr.lib.dates import oslo_date
from nnrr.reports import content

FIRST_YEAR = 2010
MAX_SPAN = 10
YEAR = forms.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric", "size": 6})

COMPARISONS = [
    (content.OWN_VS_REST, _("Egen enhet mot resten av landet")),
    (content.ALL_UNITS, _("Alle enheter")),
    (content.OWN_ONLY, _("Bare egen enhet")),
]


def current_year() -> int:
    return oslo_date(timezone.now()).year


class ReportForm(forms.Form):
    rapport = forms.ChoiceField(
        label=_("Rapport"),
        choices=[(k, _(v[0])) for k, v in content.REPORTS.items()],
        widget=forms.Select(attrs={"class": "ds-input"}),
    )
    fra = forms.IntegerField(label=_("Fra år"), widget=YEAR)
    til = forms.IntegerField(label=_("Til og med år"), widget=YEAR)
    sammenligning = forms.ChoiceField(
        label=_("Sammenligning"), choices=COMPARISONS, widget=forms.RadioSelect
    )
    enhet = forms.TypedChoiceField(
        label=_("Enhet"),
        coerce=int,
        required=False,
        widget=forms.Select(attrs={"class": "ds-input"}),
    )
    justert = forms.BooleanField(
        label=_("Juster resultatindikatorene for pasientsammensetning"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "ds-input"}),
        help_text=_(
            "Gjelder kvalitetsindikatorene; tabellene får en justert kolonne for siste år."
        ),
    )

    def __init__(self, *args: Any, sees_all: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sees_all = sees_all
        if sees_all:
            self.fields["enhet"].choices = [  # type: ignore[attr-defined]
                (u.pk, u.short_name) for u in Unit.objects.filter(is_active=True)
            ]
        else:
            del self.fields["enhet"]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        # The three last complete years: the current year is not over, and its numbers would
        # be read as a whole year's.
        year = current_year()
        return {
            "rapport": "indikatorer",
            "fra": year - 3,
            "til": year - 1,
            "sammenligning": content.OWN_VS_REST,
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("fra"), data.get("til")
        latest = current_year()
        for name, year in (("fra", first), ("til", last)):
            if year is not None and not FIRST_YEAR <= year <= latest:
                self.add_error(
                    name,
                    _("Velg et år mellom %(first)s og %(last)s.")
                    % {"first": FIRST_YEAR, "last": latest},
                )
        if first is not None and last is not None and FIRST_YEAR <= first <= last <= latest:
            if last - first + 1 > MAX_SPAN:
                self.add_error("fra", _("Velg høyst %(n)s år.") % {"n": MAX_SPAN})
        elif first is not None and last is not None and first > last:
            self.add_error("til", _("«Til og med år» kan ikke være før «Fra år»."))
        return data


class NationalFileForm(forms.Form):
    fra = forms.IntegerField(label=_("Fra år"), widget=YEAR)
    til = forms.IntegerField(label=_("Til og med år"), widget=YEAR)

    def __init__(self, *args: Any, earliest: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.earliest = earliest

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("fra"), data.get("til")
        latest = current_year()
        for name, year in (("fra", first), ("til", last)):
            if year is not None and not self.earliest <= year <= latest:
                self.add_error(
                    name,
                    _("Velg et år mellom %(first)s og %(last)s.")
                    % {"first": self.earliest, "last": latest},
                )
        if first is not None and last is not None and first > last:
            self.add_error("til", _("«Til og med år» kan ikke være før «Fra år»."))
        return data


class DocumentForm(forms.Form):
    type = forms.ChoiceField(
        label=_("Rapport"),
        choices=[
            ("quarterly", _("Kvartalsrapport (siste fire avsluttede kvartaler)")),
            ("annual", _("Årsrapport (alle enheter, tre år)")),
        ],
        widget=forms.RadioSelect,
    )
    aar = forms.IntegerField(
        label=_("År (årsrapport)"),
        required=False,
        widget=YEAR,
        help_text=_("Årsrapporten viser dette året og de to foregående."),
    )
    enhet = forms.TypedChoiceField(
        label=_("Enhet (kvartalsrapport)"),
        coerce=int,
        required=False,
        widget=forms.Select(attrs={"class": "ds-input"}),
    )

    def __init__(self, *args: Any, sees_all: bool, unit: Unit, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"type": "quarterly", "aar": current_year() - 1})
        super().__init__(*args, **kwargs)
        if sees_all:
            self.fields["enhet"].choices = [  # type: ignore[attr-defined]
                (u.pk, u.short_name) for u in Unit.objects.filter(is_active=True)
            ]
            self.initial.setdefault("enhet", unit.pk)
        else:
            del self.fields["enhet"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("type") == "annual":
            year = data.get("aar")
            if year is None:
                self.add_error("aar", _("Velg år for årsrapporten."))
            elif not FIRST_YEAR <= year <= current_year():
                self.add_error(
                    "aar",
                    _("Velg et år mellom %(first)s og %(last)s.")
                    % {"first": FIRST_YEAR, "last": current_year()},
                )
        if data.get("enhet"):
            data["enhet_obj"] = Unit.objects.filter(pk=data["enhet"]).first()
        return data


class CoverageForm(forms.Form):
    aar = forms.IntegerField(label=_("År"), widget=YEAR)
    halvaar = forms.TypedChoiceField(
        label=_("Halvår"),
        coerce=int,
        choices=[(1, _("1. halvår (januar–juni)")), (2, _("2. halvår (juli–desember)"))],
        widget=forms.RadioSelect,
    )
    antall = forms.IntegerField(
        label=_("Antall aktuelle pasienter"),
        widget=forms.NumberInput(attrs={"class": "ds-input", "inputmode": "numeric"}),
        help_text=_("Pasienter som møtte til konsultasjon og var aktuelle for registeret."),
    )
    merknad = forms.CharField(
        label=_("Merknad (for eksempel årsak til retting)"),
        required=False,
        max_length=300,
        widget=forms.TextInput(attrs={"class": "ds-input"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year, half, count = data.get("aar"), data.get("halvaar"), data.get("antall")
        today = oslo_date(timezone.now())
        if year is not None and not FIRST_YEAR <= year <= today.year:
            self.add_error(
                "aar",
                _("Velg et år mellom %(first)s og %(last)s.")
                % {"first": FIRST_YEAR, "last": today.year},
            )
        elif year == today.year and half == 2 and today.month < 7:
            self.add_error("halvaar", _("Halvåret har ikke begynt ennå."))
        if count is not None and not 0 <= count <= 100000:
            self.add_error("antall", _("Oppgi et antall mellom 0 og 100 000."))
        return data


class SubscriptionForm(forms.Form):
    hyppighet = forms.ChoiceField(
        label=_("Hyppighet"),
        choices=[
            ("monthly", _("Månedlig")),
            ("quarterly", _("Kvartalsvis")),
            ("yearly", _("Årlig")),
        ],
        widget=forms.RadioSelect,
    )
    start = forms.DateField(
        label=_("Startdato"),
        widget=forms.DateInput(attrs={"class": "ds-input", "type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d.%m.%Y"],
        help_text=_("Første e-post sendes denne dagen. Abonnementet varer i tre år."),
    )
    epost = forms.EmailField(
        label=_("E-post"), widget=forms.EmailInput(attrs={"class": "ds-input"})
    )
    enhet = forms.TypedChoiceField(
        label=_("Enhet"),
        coerce=int,
        required=False,
        widget=forms.Select(attrs={"class": "ds-input"}),
    )

    def __init__(self, *args: Any, sees_all: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if sees_all:
            self.fields["enhet"].choices = [  # type: ignore[attr-defined]
                (u.pk, u.short_name) for u in Unit.objects.filter(is_active=True)
            ]
            self.fields["epost"].label = _("Mottakers e-post")
        else:
            del self.fields["enhet"]

    def clean_start(self) -> Any:
        start = self.cleaned_data["start"]
        today = oslo_date(timezone.now())
        if start < today:
            raise forms.ValidationError(_("Startdatoen kan ikke være tilbake i tid."))
        if start > today.replace(year=today.year + 1):
            raise forms.ValidationError(_("Velg en startdato innen ett år."))
        return start
