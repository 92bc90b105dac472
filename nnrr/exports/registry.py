"""What the registry's own database and analysis code expect of an export, beyond our items.

The registry's R package (``Rapporteket/nnrr``: ``nnrrHentRegData``, ``nnrrPreprosess``,
``nnrrPrepVar``, ``nnrrBeregnIndikator``, the figure functions and the annual-report scripts)
reads its four form tables with ``SELECT *`` and then uses columns by name. Every column it reads
is in our export under the same name and with the same coding, also where our forms do not ask
the item: such a column is present and empty, and the codebook says "ikke i dette skjemaet".

- :data:`FORM_TYPE_IDS`: the registry's integer ``FormTypeId`` of each form (the number its
  database tables end with: ``behandlerskjema_1``, ``pasientskjema_foer_behandling_2``, …).
- :data:`REGISTRY_TABLES`: those table names.
- :data:`NOT_ANSWERED`: the code the registry stores for an item that was shown and not answered
  ("Ikke svart" / "Ikke utfylt" in its codebook). Only coded items whose own codes do not
  already use that number are listed: a pain score of 0 is an answer, never "Ikke svart".
- :func:`extra_columns`: the columns the registry's code reads that are not items of our forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnrr.questionnaires.models import FormKind
from nnrr.questionnaires.scoring import HSCL10_ITEMS, NDI_ITEMS, ODI_ITEMS

FORM_TYPE_IDS: dict[str, int] = {
    FormKind.CLINICIAN: 1,
    FormKind.PRE_TREATMENT: 2,
    FormKind.FOLLOW_UP_6: 3,
    FormKind.FOLLOW_UP_12: 8,
}
REGISTRY_TABLES: dict[str, str] = {
    FormKind.CLINICIAN: "behandlerskjema_1",
    FormKind.PRE_TREATMENT: "pasientskjema_foer_behandling_2",
    FormKind.FOLLOW_UP_6: "pasientskjema_6_maaneder_etter_behandling_3",
    FormKind.FOLLOW_UP_12: "pasientskjema_12_maaneder_etter_behandling_8",
}
FORM_TYPE_CODES: tuple[tuple[int, str], ...] = (
    (1, "Behandlerskjema"),
    (2, "Pasientskjema før behandling"),
    (3, "Pasientskjema 6 måneder etter behandling"),
    (8, "Pasientskjema 12 måneder etter behandling"),
)

NOT_ASKED = "ikke i dette skjemaet"
IKKE_SVART = "Ikke svart"
IKKE_UTFYLT = "Ikke utfylt"

_UHI = [f"UhiQ{n}" for n in range(1, 34)]
_FOLLOW_UP: dict[str, tuple[int, str]] = {
    **dict.fromkeys((*ODI_ITEMS, *NDI_ITEMS), (0, IKKE_SVART)),
    "TreatmentSatisfaction": (0, IKKE_SVART),
    "PainMedicinePrescription": (0, IKKE_SVART),
    "PainMedicineNoPrescription": (0, IKKE_SVART),
}
NOT_ANSWERED: dict[str, dict[str, tuple[int, str]]] = {
    FormKind.CLINICIAN: {
        **dict.fromkeys(("BackSurgery", "NeckSurgery", "PelvisSurgery"), (0, IKKE_UTFYLT)),
        **dict.fromkeys(
            ("MedicationAFrequency", "MedicationBFrequency", "MedicationCFrequency"),
            (0, IKKE_UTFYLT),
        ),
        "RadiologicalF_Spondylolisthesis": (0, IKKE_UTFYLT),
        "RadiologicalF_Scoliosis_Subcategory": (0, IKKE_UTFYLT),
    },
    FormKind.PRE_TREATMENT: {
        **dict.fromkeys(
            (
                "FamilyStatus",
                "NationalCountry",
                "EducationLevel",
                "ReadWriteDifficulties",
                "PainDurationNow",
                "PainMedicinePrescription",
                "PainMedicineNoPrescription",
                "PhysicalActivity",
            ),
            (0, IKKE_SVART),
        ),
        "Smoking": (0, IKKE_UTFYLT),
        **dict.fromkeys((*ODI_ITEMS, *NDI_ITEMS, *HSCL10_ITEMS), (0, IKKE_SVART)),
        **dict.fromkeys(_UHI, (-1, IKKE_SVART)),
    },
    FormKind.FOLLOW_UP_6: _FOLLOW_UP,
    FormKind.FOLLOW_UP_12: _FOLLOW_UP,
}


def _checkbox(name: str, label: str) -> dict[str, Any]:
    return {"name": name, "label": label, "kind": "tick"}


def _coded(name: str, label: str, codes: tuple[tuple[int, str], ...]) -> dict[str, Any]:
    return {"name": name, "label": label, "kind": "code", "codes": codes}


def _number(name: str, label: str, *, decimal: bool = False) -> dict[str, Any]:
    return {"name": name, "label": label, "kind": "float" if decimal else "int"}


_YES_NO_UNKNOWN = ((0, IKKE_UTFYLT), (1, "Ja"), (2, "Nei"), (3, "Ukjent"))
_SATISFACTION = (
    (0, IKKE_SVART),
    (1, "Fornøyd"),
    (2, "Litt fornøyd"),
    (3, "Hverken fornøyd eller misfornøyd"),
    (4, "Litt misfornøyd"),
    (5, "Misfornøyd"),
)
_WORKING_STATUS = (
    (0, IKKE_UTFYLT),
    (1, "Inntektsgivende arbeid"),
    (2, "Student/skoleelev"),
    (3, "Arbeidsledig"),
    (4, "Alderspensjonist"),
    (5, "Hjemmeværende"),
    (6, "Sykemeldt"),
    (7, "Arbeidsavklaringspenger"),
    (8, "Permanent uførepensjon"),
)


def _eq5d(kind: str) -> list[dict[str, Any]]:
    """The registry's EQ-5D-3L columns. Our forms ask EQ-5D-5L: the 3L index columns stay
    empty (a 5L index is in ``Score_EQ5DL``); the VAS (0–100, the same question in both) and the
    satisfaction item of the follow-up forms are filled from our items."""
    follow_up = kind in (FormKind.FOLLOW_UP_6, FormKind.FOLLOW_UP_12)
    return [
        _number("Eq5dScore", "EQ-5D-3L indeks", decimal=True),
        _number("Eq5dScore_Old", "EQ-5D-3L indeks (eldre verdisett)", decimal=True),
        {
            **_number("Eq5dHealthLevel", "EQ-5D VAS: helsetilstand i dag (0–100)"),
            "source": "Eq5d_L_spm6",
        },
        {
            **_coded(
                "Eq5dSatisfactionTreatment",
                "Hvor fornøyd er du med behandlingen?",
                _SATISFACTION,
            ),
            **({"source": "TreatmentSatisfaction"} if follow_up else {}),
        },
    ]


_EXTRA: dict[str, list[dict[str, Any]]] = {
    FormKind.CLINICIAN: [
        {
            **_number(
                "VentetidFraHenvisningTilBesok",
                "Dager fra henvisningsdato til besøksdato",
            ),
            "derived": "waiting_days",
        },
        _number("VentetidFraHenvisningTilTilbud", "Dager fra henvisning til tilbud om time"),
        _checkbox("Treatment_IndividualFollowUp1to2Times", "Individuell oppfølging 1-2 ganger"),
        _coded(
            "Treatment_GroupInterdisciplinary",
            "Gruppebasert tverrfaglig behandling (skjema før 2018)",
            ((0, "Ingen"), (1, "1–3 ganger"), (2, "4–10 ganger"), (3, "Mer enn 10 ganger")),
        ),
        _checkbox(
            "Treatment_ControlAfterReviewOrTreatment", "Kontroll etter vurdering eller behandling"
        ),
        _checkbox(
            "Treatment_FollowUpManuellTerapeut",
            "Oppfølging i kommunehelsetjenesten av manuell terapeut",
        ),
        # The work status asked in the Behandlerskjema before 2018 (now S2_* in the patient forms).
        _checkbox("Working", "I arbeid"),
        _checkbox("SickLeave", "Sykmeldt"),
        _checkbox("Stay_at_home", "Hjemmeværende (ulønnet)"),
        _checkbox("Student", "Student/skoleelev"),
        _checkbox("Unemployed", "Arbeidsledig"),
        _checkbox("NAV", "Arbeidsavklaringspenger"),
        _checkbox("Pension", "Permanent uførepensjon"),
        _checkbox("RetirementPension", "Alderspensjonist"),
    ],
    FormKind.PRE_TREATMENT: [
        _coded("PainDisable", "Har du søkt uføretrygd?", _YES_NO_UNKNOWN),
        _coded("PainCompensation", "Har du søkt erstatning?", _YES_NO_UNKNOWN),
        _coded(
            "ProfessionWantedBack",
            "Føler du at din arbeidsgiver ønsker deg tilbake i jobb?",
            _YES_NO_UNKNOWN,
        ),
        _coded("WorkingStatus", "Arbeidsstatus (ett valg, skjema før 2018)", _WORKING_STATUS),
        *_eq5d(FormKind.PRE_TREATMENT),
    ],
    FormKind.FOLLOW_UP_6: [
        _checkbox("TreatmentPostHospital", "Jeg har fått annen behandling"),
        _coded(
            "TreatmentPostHospitalSurgery",
            "Fikk du oppfølgende behandling etter konsultasjonen på nakke- og ryggpoliklinikken?",
            ((0, "Nei"), (1, "Ja")),
        ),
        _coded(
            "TreatmentPhysioTherapistOther",
            "Annen behandling hos fysioterapeut (massasje, varmepakninger, elektroterapi)",
            ((0, IKKE_UTFYLT), (1, "1"), (2, "2"), (3, "3")),
        ),
        *_eq5d(FormKind.FOLLOW_UP_6),
    ],
}
_EXTRA[FormKind.FOLLOW_UP_12] = [
    *_EXTRA[FormKind.FOLLOW_UP_6][:3],
    *_eq5d(FormKind.FOLLOW_UP_12),
]


def extra_columns(kind: str) -> list[dict[str, Any]]:
    """The registry's columns of form ``kind`` that are not items of our forms.

    Each is a mapping: ``name``, ``label``, ``kind`` (tick, code, int, float), ``codes``, and
    either ``source`` (the item of ours measuring the same thing), ``derived`` (a value of the
    row) or neither (not asked: always empty).
    """
    return _EXTRA[kind]


def not_answered_code(kind: str, item_id: str, own_codes: Mapping[int, Any]) -> int | None:
    """The registry's code for item ``item_id`` shown and left unanswered, if it has one."""
    entry = NOT_ANSWERED.get(kind, {}).get(item_id)
    if entry is None or entry[0] in own_codes:
        return None
    return entry[0]
