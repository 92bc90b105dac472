"""Norwegian national identity numbers (fødselsnummer, D-number, H-number, synthetic test numbers).

The one validator of the project; it wraps python-stdnum's check-digit arithmetic and adds what
the registry needs: a precise message for every kind of mistake, the birth date and sex derived
from the number, and synthetic test numbers (month + 80) only in demo and test mode.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from stdnum.no import fodselsnummer

Kind = Literal["fnr", "dnr", "hnr", "synthetic"]
_SEPARATORS = re.compile(r"[\s\-.]")
# ASCII digits only: str.isdigit() also accepts "²" (which int() refuses) and "٣" (which it takes).
_DIGITS = re.compile(r"[0-9]+")


class NationalIdError(ValidationError):
    """An invalid national id; ``message`` says what is wrong in words a clerk understands."""


@dataclass(frozen=True)
class NationalId:
    value: str
    kind: Kind
    birth_date: dt.date
    sex: Literal["M", "F"]

    def __str__(self) -> str:
        return self.value

    @property
    def formatted(self) -> str:
        return formatted(self.value)


def formatted(national_id: str) -> str:
    """A national id as people read it: the birth date, a space, the personal number."""
    return f"{national_id[:6]} {national_id[6:]}"


def compact(raw: str) -> str:
    """The number with spaces, hyphens and dots removed."""
    return _SEPARATORS.sub("", raw or "")


def _check_digit(digits: str, weights: tuple[int, ...]) -> int | None:
    remainder = sum(w * int(d) for w, d in zip(weights, digits, strict=False)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def _century(individual: int, year: int) -> int | None:
    """The birth century stdnum derives from the individual number, or None when there is none."""
    if individual < 500:
        return 1900
    if individual < 750 and year >= 54:
        return 1800
    if individual < 1000 and year < 40:
        return 2000
    if 900 <= individual < 1000 and year >= 40:
        return 1900
    return None


def synthetic_allowed() -> bool:
    return bool(settings.DEMO or settings.TESTING)


def parse_national_id(raw: str, *, allow_synthetic: bool | None = None) -> NationalId:
    """Validate ``raw`` and return the parsed number, or raise :class:`NationalIdError`."""
    if allow_synthetic is None:
        allow_synthetic = synthetic_allowed()
    number = compact(raw)
    if not number:
        raise NationalIdError(_("Skriv inn et fødselsnummer (11 siffer)."), code="empty")
    if not _DIGITS.fullmatch(number):
        raise NationalIdError(
            _("Fødselsnummeret kan bare inneholde siffer (mellomrom og bindestrek er tillatt)."),
            code="not_digits",
        )
    if len(number) != 11:
        raise NationalIdError(
            _("Fødselsnummeret må ha 11 siffer; du skrev %(count)d.") % {"count": len(number)},
            code="length",
        )
    first = _check_digit(number[:9], (3, 7, 6, 1, 8, 9, 4, 5, 2))
    if first is None or first != int(number[9]):
        raise NationalIdError(
            _(
                "Første kontrollsiffer (siffer nr. 10) stemmer ikke. "
                "Sjekk at nummeret er skrevet riktig."
            ),
            code="check_digit_1",
        )
    second = _check_digit(number[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    if second is None or second != int(number[10]):
        raise NationalIdError(
            _(
                "Andre kontrollsiffer (siffer nr. 11) stemmer ikke. "
                "Sjekk at nummeret er skrevet riktig."
            ),
            code="check_digit_2",
        )

    day, month = int(number[0:2]), int(number[2:4])
    kind: Kind = "fnr"
    if day >= 80:
        raise NationalIdError(
            _(
                "Dette er et FH-nummer uten fødselsdato. "
                "Registeret trenger fødselsnummer eller D-nummer."
            ),
            code="fh_number",
        )
    if day > 40:
        kind, day = "dnr", day - 40
    if month > 80:
        if not allow_synthetic:
            raise NationalIdError(
                _("Syntetiske testnummer er bare tillatt i demo- og testmiljøet."), code="synthetic"
            )
        kind, month = "synthetic", month - 80
    elif month > 40:
        kind, month = "hnr", month - 40

    # Rebuild a plain fødselsnummer so stdnum's century rules apply to every kind of number.
    plain = f"{day:02d}{month:02d}{number[4:]}"
    try:
        birth = fodselsnummer.get_birth_date(plain)
    except Exception as exc:
        if _century(int(number[6:9]), int(number[4:6])) is None:
            raise NationalIdError(
                _(
                    "Individnummeret (siffer 7–9) passer ikke med fødselsåret i nummeret. "
                    "Sjekk at nummeret er skrevet riktig."
                ),
                code="individual_number",
            ) from exc
        raise NationalIdError(
            _("Fødselsdatoen i nummeret (%(date)s) finnes ikke.")
            % {"date": f"{day:02d}.{month:02d}.{number[4:6]}"},
            code="impossible_date",
        ) from exc
    sex: Literal["M", "F"] = "M" if int(number[8]) % 2 else "F"
    return NationalId(value=number, kind=kind, birth_date=birth, sex=sex)


def validate_national_id(value: str) -> None:
    """Django validator form of :func:`parse_national_id`."""
    parse_national_id(value)


def make_national_id(birth: dt.date, individual: int, *, synthetic: bool = False) -> str | None:
    """A valid number for ``birth`` and a three-digit individual number, or None if none exists.

    Used by the demo data and the tests; ``synthetic`` adds 80 to the month. The individual number
    must be 000–999 and fit the birth year's century (see :func:`_century`), else None.
    """
    if (
        not 0 <= individual <= 999
        or _century(individual, birth.year % 100) != birth.year // 100 * 100
    ):
        return None
    month = birth.month + (80 if synthetic else 0)
    stem = f"{birth.day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    first = _check_digit(stem, (3, 7, 6, 1, 8, 9, 4, 5, 2))
    if first is None:
        return None
    second = _check_digit(stem + str(first), (5, 4, 3, 2, 7, 6, 5, 4, 3, 2))
    if second is None:
        return None
    return f"{stem}{first}{second}"
