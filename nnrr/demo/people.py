"""Demo users and synthetic persons.

Every national id made here is a synthetic test number (month + 80) with valid check digits,
except the user manual's own test user EGIL LARSEN (24019491117), whose number the demo
environment of the hosted platform also uses.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from nnrr.accounts.models import Role
from nnrr.lib.national_id import make_national_id

ST_OLAVS = 104293
HAUKELAND = 102959
UNN_TROMSO = 601032

FIRST_NAMES_F = [
    "Anne",
    "Inger",
    "Kari",
    "Marit",
    "Ingrid",
    "Liv",
    "Eva",
    "Berit",
    "Astrid",
    "Bjørg",
    "Hilde",
    "Nina",
    "Ida",
    "Silje",
    "Marianne",
    "Camilla",
    "Tone",
    "Randi",
    "Siri",
    "Hanne",
    "Ragnhild",
    "Solveig",
    "Maria",
    "Nora",
    "Emma",
    "Thea",
    "Line",
    "Grete",
]
FIRST_NAMES_M = [
    "Jan",
    "Per",
    "Bjørn",
    "Ole",
    "Lars",
    "Kjell",
    "Knut",
    "Arne",
    "Svein",
    "Hans",
    "Geir",
    "Tor",
    "Morten",
    "Terje",
    "Odd",
    "Rune",
    "Trond",
    "Erik",
    "Anders",
    "Jon",
    "Håkon",
    "Magnus",
    "Sindre",
    "Eirik",
    "Øyvind",
    "Stian",
    "Vidar",
    "Kristian",
]
SURNAMES = [
    "Hansen",
    "Johansen",
    "Olsen",
    "Larsen",
    "Andersen",
    "Pedersen",
    "Nilsen",
    "Kristiansen",
    "Jensen",
    "Karlsen",
    "Johnsen",
    "Pettersen",
    "Eriksen",
    "Berg",
    "Haugen",
    "Hagen",
    "Johannessen",
    "Andreassen",
    "Jacobsen",
    "Dahl",
    "Jørgensen",
    "Halvorsen",
    "Henriksen",
    "Lund",
    "Sørensen",
    "Jakobsen",
    "Moen",
    "Gundersen",
    "Iversen",
    "Strand",
    "Solberg",
    "Svendsen",
    "Eide",
    "Knutsen",
    "Martinsen",
    "Paulsen",
    "Bakken",
    "Kristoffersen",
    "Mathisen",
    "Lie",
    "Amundsen",
    "Nguyen",
    "Rasmussen",
    "Ali",
    "Lunde",
    "Solheim",
    "Berge",
    "Moe",
    "Nygård",
    "Bakke",
    "Kristensen",
    "Fredriksen",
    "Holm",
    "Lien",
    "Hauge",
]


@dataclass(frozen=True)
class DemoUser:
    national_id: str
    name: str
    memberships: tuple[tuple[str, int], ...]  # (role, unit reshID)
    note: str


def synthetic_id(rng: random.Random, birth: dt.date, sex: str) -> str:
    """A synthetic national id (month + 80) for ``birth`` with the right sex digit."""
    low, high = (500, 999) if birth.year >= 2000 else (0, 499)
    parity = 1 if sex == "M" else 0  # the ninth digit is odd for men
    while True:
        individual = rng.randrange(low + (parity - low) % 2, high + 1, 2)
        number = make_national_id(birth, individual, synthetic=True)
        if number is not None:
            return number


# Memberships that also hold the separate permission to export identifiable data.
IDENTIFIABLE_EXPORT = {("EGIL LARSEN", Role.LOKAL_REGISTERANSVARLIG, ST_OLAVS)}


def demo_users() -> list[DemoUser]:
    rng = random.Random(20261125)

    def person(born: dt.date, sex: str) -> str:
        return synthetic_id(rng, born, sex)

    return [
        DemoUser(
            "24019491117",
            "EGIL LARSEN",
            (
                (Role.PASIENTANSVARLIG, ST_OLAVS),
                (Role.LOKAL_REGISTERANSVARLIG, ST_OLAVS),
                (Role.PASIENTANSVARLIG, HAUKELAND),
            ),
            "Brukermanualens testbruker",
        ),
        DemoUser(
            person(dt.date(1978, 3, 14), "F"),
            "Kari Behandler",
            ((Role.PASIENTANSVARLIG, ST_OLAVS),),
            "Lege ved St. Olavs",
        ),
        DemoUser(
            person(dt.date(1985, 9, 2), "M"),
            "Per Merkantil",
            ((Role.PASIENTANSVARLIG, ST_OLAVS),),
            "Merkantil ved St. Olavs",
        ),
        DemoUser(
            person(dt.date(1981, 6, 21), "F"),
            "Hanne Haukeland",
            ((Role.PASIENTANSVARLIG, HAUKELAND),),
            "Fysioterapeut ved Haukeland",
        ),
        DemoUser(
            person(dt.date(1970, 1, 30), "F"),
            "Lise Lokal",
            ((Role.LOKAL_REGISTERANSVARLIG, HAUKELAND),),
            "Lokal registeransvarlig, Haukeland",
        ),
        DemoUser(
            person(dt.date(1966, 11, 8), "M"),
            "Dag Datadump",
            ((Role.DATADUMPRAPPORTLESER, ST_OLAVS),),
            "Dataeksport, St. Olavs",
        ),
        DemoUser(
            person(dt.date(1990, 4, 17), "F"),
            "Randi Rapport",
            ((Role.RAPPORTLESER, ST_OLAVS),),
            "Rapporter, St. Olavs",
        ),
        DemoUser(
            person(dt.date(1975, 8, 5), "F"),
            "Siri Sekretariat",
            ((Role.REGISTERADMINISTRATOR, UNN_TROMSO),),
            "Registerets sekretariat (UNN)",
        ),
        DemoUser(
            person(dt.date(1993, 2, 11), "F"),
            "Nora Nyansatt",
            (),
            "Ny ved St. Olavs, uten roller: kan søke om tilgang",
        ),
    ]


def random_person(rng: random.Random, today: dt.date) -> tuple[str, str, dt.date, str]:
    """(national id, name, birth date, sex) of an adult synthetic patient."""
    sex = "F" if rng.random() < 0.58 else "M"
    age = int(min(85, max(18, rng.gauss(47, 14))))
    birth = today - dt.timedelta(days=age * 365 + rng.randint(0, 364))
    first = rng.choice(FIRST_NAMES_F if sex == "F" else FIRST_NAMES_M)
    name = f"{first} {rng.choice(SURNAMES)}"
    return synthetic_id(rng, birth, sex), name, birth, sex
