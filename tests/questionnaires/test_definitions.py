"""The shipped form definitions, the definition parser's refusals and the wording overlays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nnrr.questionnaires import body_map
from nnrr.questionnaires.checks import check_form_definitions
from nnrr.questionnaires.definitions import (
    Definition,
    DefinitionError,
    Group,
    Item,
    all_definitions,
    get_definition,
    load_wording_overlays,
    parse_definition,
    reload_definitions,
)

# --- The item ids of domain.md §2, in the order listed there ---------------------------------

CLINICIAN_IDS = [
    "S1b_DateOfCompletion", "ParticipantHelseIArbeid", "ParticipantResarch", "Interpreter",
    "TreatmentEvaluationByDoctor", "TreatmentEvaluationByPhysiotherapist",
    "TreatmentEvaluationByNurse", "TreatmentEvaluationByPsychologist",
    "TreatmentEvaluationBySocionom", "TreatmentEvaluationOther",
    "BackSurgery", "NeckSurgery", "PelvisSurgery",
    "CourseYellowFlagComplicatingFactors",
    "TreatmentMasteryOrientedConversation", "TreatmentCouncellingLifeStyleAndMedication",
    "TreatmentAbilityToWorkFunctionLevel", "SeriousIllnes",
    "MedicationNone", "MedicationA", "MedicationB", "MedicationC",
    "MedicationAFrequency", "MedicationBFrequency", "MedicationCFrequency",
    "RadiologicalFExplainedPatient", "RadiologicalFRelevantPatientPains",
    "Radiological_None", "RadiologicalUS_CT", "RadiologicalUS_MR", "RadiologicalUS_Radikulgraphy",
    "RadiologicalUS_LS_C_Columna", "RadiologicalUS_FlexionExtention",
    "RadiologicalUS_DiagnosticBlock",
    "RadiologicalF_Normal", "RadiologicalF_DiscHernitation", "RadiologicalF_CentralSpinalCord",
    "RadiologicalF_RecesStenosis", "RadiologicalF_Spondylolisthesis", "RadiologicalF_Scoliosis",
    "RadiologicalF_Scoliosis_Subcategory", "RadiologicalF_Modicchanges1",
    "RadiologicalF_Modicchanges2", "RadiologicalF_Modicchanges3",
    "RadiologicalF_ModicchangesUnspecified", "RadiologicalF_Other",
    "OtherSupplementaryDiagnostic_None", "OtherSupplementaryDiagnostic_DiagnosticInjection",
    "OtherSupplementaryDiagnostic_Radikulgraphy", "OtherSupplementaryDiagnostic_Emg",
    "OtherSupplementaryDiagnostic_Nevrografi",
    *(f"DiagnosticNumber{n}" for n in range(1, 7)),
    "Treatment_NoTreatment", "Treatment_FollowUpMunicipality", "Treatment_FollowUpFysioterapeut",
    "Treatment_FollowUpKiropraktor", "Treatment_FollowUpPsykolog",
    "Treatment_FollowUpMunicipalityOther", "Treatment_FollowupOtherLifeStyle",
    "Treatment_TreatmentInSpecialistServices", "Treatment_IndividualMonoDiciplinary",
    "Treatment_InvidualInterdisciplinary", "Treatment_GroupInterdisciplinary2018",
    "Treatment_TrainingActivation", "Treatment_WorkFollowUp", "Treatment_CognitiveApproach",
    "Treatment_Education", "Treatment_AttentionAndBodyawareness_Training", "Treatment_Other",
    "Treatment_FollowUpOperation", "Treatment_TreatmentOtherRehabCentre",
    "Treatment_EvaluationBySpecialist", "Treatment_OtherAssessment",
]  # fmt: skip

# The 32 regions as the registry's codebook lists them (Rapporteket/nnrr, doc/kodebok…_1a.csv).
PAIN_REGION_IDS = [
    "IsPainHead", "IsPainBackHead", "IsPainNeckBack", "IsPainNeckFront",
    "IsPainShoulderFrontRight", "IsPainShoulderBackRight", "IsPainShoulderFrontLeft",
    "IsPainShoulderBackLeft", "IsPainArmFrontRight", "IsPainArmBackRight", "IsPainArmFrontLeft",
    "IsPainArmBackLeft", "IsPainHandFrontRight", "IsPainHandFrontLeft", "IsPainHandBackRight",
    "IsPainHandBackLeft", "IsPainUpperBack", "IsPainUpperStomach", "IsPainStomach",
    "IsPainLowBack", "IsPainHipsThighsFrontRight", "IsPainHipsThighsFrontLeft",
    "IsPainHipsThighsBackRight", "IsPainHipsThighsBackLeft", "IsPainKneeFrontRight",
    "IsPainKneeFrontLeft", "IsPainKneeBackRight", "IsPainKneeBackLeft", "IsPainFeetFrontRight",
    "IsPainFeetBackRight", "IsPainFeetFrontLeft", "IsPainFeetBackLeft",
]  # fmt: skip

ODI_IDS = [
    "OdiPain", "OdiPersonalCare", "OdiLift", "OdiWalk", "OdiSit", "OdiStand", "OdiSleep",
    "OdiSex", "OdiSocial", "OdiTravel",
]  # fmt: skip
NDI_IDS = [
    "NdiIntensity", "NdiPersonalCare", "NdiLift", "NdiRead", "NdiHeadache", "NdiConcentration",
    "NdiWork", "NdiDriving", "NdiSleep", "NdiLeisure",
]  # fmt: skip
FABQ_IDS = [f"FabQ{n}" for n in range(1, 12)]
HSCL_IDS = [f"Hscl10Q{n}" for n in range(1, 11)]
UHI_IDS = [f"UhiQ{n}" for n in range(1, 34)]
EQ5D_IDS = [f"Eq5d_L_spm{n}" for n in range(1, 6)]
EQ5D_VAS = "Eq5d_L_spm6"
NRS_IDS = ["PainExperiencesNoActivity", "PainExperiencesActivity"]
PAINKILLER_IDS = ["PainMedicinePrescription", "PainMedicineNoPrescription"]
WORK_STATUS_IDS = [
    "S2_Working", "S2_Working_Percent", "S2_Unemployed", "S2_SickLeave", "S2_SickLeave_Percent",
    "S2_StayAtHome", "S2_Student", "S2_NAV", "S2_RetirementPension", "S2_Pension",
    "S2_Pension_Percent",
]  # fmt: skip

PRE_TREATMENT_IDS = [
    "FamilyStatus", "OwnChildren", "HouseholdChildren", "NationalCountry", "NationalInterpreter",
    "EducationLevel", "ReadWriteDifficulties", "ProfessionalSatisfied", "IsEmployed",
    *WORK_STATUS_IDS,
    "PainDurationNow", "PainCausesWork", "PainCausesHome", "PainCausesMental",
    "PainCausesLeisure", "PainCausesSkeleton", "PainCausesMuscle", "PainCausesNerve",
    "PainCausesWrongTreatmen", "PainCausesUknown", "PainCausesOther", "Smoking",
    "PhysicalActivity", *PAIN_REGION_IDS, *NRS_IDS, *PAINKILLER_IDS, "IsNeckPainMainProblem",
    *ODI_IDS, *NDI_IDS, *FABQ_IDS, *HSCL_IDS, *UHI_IDS, *EQ5D_IDS, EQ5D_VAS,
]  # fmt: skip

FOLLOW_UP_IDS = [
    *NRS_IDS, *ODI_IDS, *NDI_IDS, *EQ5D_IDS, EQ5D_VAS, *WORK_STATUS_IDS, "UseOfTreatment",
    "TreatmentSatisfaction", "TreatmentPostIndividual", "TreatmentPostGroupbased",
    "TreatmentPostHospitalExtendedExamination", "TreatmentOperation", "TreatmentPhysioTherapist",
    "TreatmentManuelTherapi", "TreatmentPsychomotoricTherapy", "TreatmentChiropractor",
    "TreatmentOtherTreatment", *PAINKILLER_IDS,
]  # fmt: skip

# Ids that are not registry columns: the "none" boxes of groups the registry has none for, and
# the neck question repeated in the follow-ups so their NDI section can depend on it.
INVENTED_IDS = {
    "1b": {"Treatment_ContentNone", "Treatment_NoReferral"},
    "1a": set(),
    "2": {"TreatmentPostNone", "TreatmentOutsideNone", "IsNeckPainMainProblem"},
    "3": {"TreatmentPostNone", "TreatmentOutsideNone", "IsNeckPainMainProblem"},
}
DOMAIN_IDS = {"1b": CLINICIAN_IDS, "1a": PRE_TREATMENT_IDS, "2": FOLLOW_UP_IDS, "3": FOLLOW_UP_IDS}

# Codes as stored (domain.md §3).
INSTRUMENT_CODES = {
    "odi": (ODI_IDS, set(range(1, 7))),
    "ndi": (NDI_IDS, set(range(1, 7))),
    "fabq": (FABQ_IDS, set(range(0, 7))),
    "hscl10": (HSCL_IDS, set(range(1, 5))),
    "uhi": (UHI_IDS, set(range(0, 4))),
    "eq5d5l": (EQ5D_IDS, set(range(1, 6))),
}


def _ids(definition: Definition) -> list[str]:
    return [item.id for item in definition.items()]


def _group_of(definition: Definition, item_id: str) -> Group | None:
    return next((g for g in definition.groups() if any(i.id == item_id for i in g.items)), None)


def _conditional(definition: Definition, item: Item) -> bool:
    group = _group_of(definition, item.id)
    return bool(
        item.show_if
        or definition.section_of(item.id).show_if
        or (group is not None and group.show_if)
    )


# --- (a), (b) the shipped definitions --------------------------------------------------------


def test_every_shipped_definition_loads() -> None:
    reload_definitions()
    forms = {(d.form, d.version) for d in all_definitions()}
    assert forms == {("1a", "1.0"), ("1b", "1.0"), ("2", "1.0"), ("3", "1.0")}


def test_system_check_accepts_shipped_definitions() -> None:
    assert check_form_definitions() == []


def test_only_the_pre_treatment_form_carries_consent() -> None:
    assert get_definition("1a").consent.nb
    assert get_definition("1a").consent.en
    assert "forskning" in get_definition("1a").consent.nb
    for form in ("1b", "2", "3"):
        assert not get_definition(form).consent.nb


def test_filled_by() -> None:
    assert get_definition("1b").filled_by == "staff"
    assert {get_definition(f).filled_by for f in ("1a", "2", "3")} == {"patient"}


@pytest.mark.parametrize("form", ["1a", "1b", "2", "3"])
def test_every_item_and_group_has_a_norwegian_and_english_label(form: str) -> None:
    definition = get_definition(form)
    for section in definition.sections:
        assert section.title.nb and section.title.en, section.id
    for item in definition.items():
        assert item.label.nb and item.label.en, item.id
        for code in item.codes:
            assert code.label.nb and code.label.en, (item.id, code.code)
    for group in definition.groups():
        assert group.label.nb and group.label.en, group.id


def test_every_clinician_item_and_group_has_help_text() -> None:
    """Every question and every group of checkboxes has help; an option inside a group has its
    own only when it explains something the group's help does not (no "?" on every option)."""
    definition = get_definition("1b")
    for item in definition.items():
        assert item.group or item.help.nb, item.id
    for group in definition.groups():
        assert group.help.nb, group.id
        for option in group.items:
            assert str(option.help.nb) != f"{option.label.nb} deltok i utredningen.", option.id


def test_clinician_labels_are_the_manuals() -> None:
    definition = get_definition("1b")
    assert definition.item("S1b_DateOfCompletion").label.nb == "Besøksdato"
    assert (
        definition.item("TreatmentMasteryOrientedConversation").label.nb
        == "Gis mestringsorientert samtale?"
    )
    assert (
        definition.item("TreatmentAbilityToWorkFunctionLevel").label.nb
        == "Kartlegges funksjonsevne relatert til arbeid og utdanning?"
    )
    assert definition.item("RadiologicalF_Normal").label.nb.startswith("Normal (inkl.")


# --- (c) the parser and the check refuse inconsistent definitions ----------------------------


def _definition(*items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "form": "x",
        "version": "1.0",
        "title": "Test",
        "sections": [{"id": "s1", "title": "Del 1", "items": list(items)}],
        **extra,
    }


YES_NO = [{"code": 1, "label": "Ja"}, {"code": 2, "label": "Nei"}]


def test_a_small_definition_parses() -> None:
    definition = parse_definition(
        _definition(
            {"id": "Smoking", "type": "choice", "codes": YES_NO},
            {"id": "Packs", "type": "integer", "min": 0, "max": 5,
             "show_if": {"item": "Smoking", "equals": 1}},
        )
    )  # fmt: skip
    assert _ids(definition) == ["Smoking", "Packs"]


def test_duplicate_item_id_is_refused() -> None:
    with pytest.raises(DefinitionError, match="duplicate item id Twice"):
        parse_definition(
            _definition({"id": "Twice", "type": "text"}, {"id": "Twice", "type": "date"})
        )


def test_unknown_item_type_is_refused() -> None:
    with pytest.raises(DefinitionError, match=r"item Slider: unknown type 'slider'"):
        parse_definition(_definition({"id": "Slider", "type": "slider"}))


@pytest.mark.parametrize("bad_code", ["1", 1.5, True, None])
def test_code_that_is_not_a_whole_number_is_refused(bad_code: Any) -> None:
    with pytest.raises(DefinitionError, match=r"item Pick: code .* is not a whole number"):
        parse_definition(
            _definition(
                {"id": "Pick", "type": "choice", "codes": [{"code": bad_code, "label": "a"}]}
            )
        )


def test_condition_on_a_missing_item_is_refused() -> None:
    with pytest.raises(DefinitionError, match="Reason has a condition on missing item Ghost"):
        parse_definition(
            _definition({"id": "Reason", "type": "text", "show_if": {"item": "Ghost", "equals": 1}})
        )


def test_condition_value_outside_the_targets_codes_is_refused() -> None:
    with pytest.raises(DefinitionError, match="Packs has a condition on Smoking = 3"):
        parse_definition(
            _definition(
                {"id": "Smoking", "type": "choice", "codes": YES_NO},
                {"id": "Packs", "type": "text", "show_if": {"item": "Smoking", "in": [1, 3]}},
            )
        )


def test_condition_on_a_checkbox_must_be_true_or_false() -> None:
    with pytest.raises(DefinitionError, match="Dose has a condition on checkbox MedicationA"):
        parse_definition(
            _definition(
                {"id": "MedicationA", "type": "boolean"},
                {"id": "Dose", "type": "text", "show_if": {"item": "MedicationA", "equals": 1}},
            )
        )


def test_group_with_a_non_boolean_item_is_refused() -> None:
    # The loader names the group (the item is inside it).
    with pytest.raises(DefinitionError, match="group causes: items must be boolean"):
        parse_definition(
            _definition(
                {
                    "group": "causes",
                    "items": [
                        {"id": "CauseWork"},
                        {"id": "CauseCount", "type": "integer", "min": 0, "max": 3},
                    ],
                }
            )
        )


def test_group_with_two_none_boxes_is_refused() -> None:
    with pytest.raises(DefinitionError, match="group causes has more than one 'none' box"):
        parse_definition(
            _definition(
                {
                    "group": "causes",
                    "items": [{"id": "NoCause", "none": True}, {"id": "Unknown", "none": True}],
                }
            )
        )


def test_system_check_reports_an_inconsistent_definition_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnrr.questionnaires import definitions

    broken = tmp_path / "1b-v9.0.yaml"
    broken.write_text(
        "form: '1b'\nversion: '9.0'\ntitle: Broken\nsections:\n  - id: s1\n    items:\n"
        "      - {id: Twice, type: text}\n      - {id: Twice, type: text}\n",
        encoding="utf-8",
    )
    shipped = definitions.definition_files()
    monkeypatch.setattr(definitions, "definition_files", lambda: [*shipped, broken])
    try:
        errors = check_form_definitions()
    finally:
        monkeypatch.undo()
        reload_definitions()
    assert [e.id for e in errors] == ["nnrr.E101"]
    assert "Twice" in errors[0].msg


# --- (d) the pain drawing --------------------------------------------------------------------


def test_pre_treatment_form_has_exactly_the_32_pain_regions() -> None:
    definition = get_definition("1a")
    pain_ids = [i for i in _ids(definition) if i.startswith("IsPain")]
    assert len(pain_ids) == 32
    assert sorted(pain_ids) == sorted(PAIN_REGION_IDS)
    section = definition.section_of("IsPainHead")
    assert section.id == "pain_drawing"
    assert [i.id for i in section.items()] == PAIN_REGION_IDS
    for item in section.items():
        assert (item.type, item.widget) == ("boolean", "body-region"), item.id


def test_no_other_form_has_pain_region_items() -> None:
    for form in ("1b", "2", "3"):
        assert not [i for i in _ids(get_definition(form)) if i.startswith("IsPain")]


def test_every_pain_region_is_on_the_body_map_and_vice_versa() -> None:
    definition = get_definition("1a")
    pain_items = {i.id: i for i in definition.items() if i.id.startswith("IsPain")}
    assert set(body_map.REGIONS) == set(pain_items)
    for item_id, region in body_map.REGIONS.items():
        assert region.label_nb == pain_items[item_id].label.nb, item_id
        assert region.label_en == pain_items[item_id].label.en, item_id


def test_body_map_views_and_outlines() -> None:
    assert set(body_map.OUTLINES) == {"front", "back"}
    for outline in body_map.OUTLINES.values():
        assert outline.startswith("M") and outline.endswith("Z")
    views = [r.view for r in body_map.REGIONS.values()]
    assert views.count("front") == views.count("back") == 16
    for region in body_map.REGIONS.values():
        assert region.tag in {"ellipse", "rect", "path", "circle"}
        x, y = float(region.attrs["cx"]), float(region.attrs["cy"])
        assert 0 < x < 200 and 0 < y < 440


@pytest.mark.parametrize("part", ["Shoulder", "Arm", "Hand", "HipsThighs", "Knee", "Feet"])
def test_patients_right_side_is_on_the_viewers_left_from_the_front(part: str) -> None:
    def x(item_id: str) -> float:
        return float(body_map.REGIONS[item_id].attrs["cx"])

    assert x(f"IsPain{part}FrontRight") < 100 < x(f"IsPain{part}FrontLeft")
    assert x(f"IsPain{part}BackLeft") < 100 < x(f"IsPain{part}BackRight")
    assert body_map.REGIONS[f"IsPain{part}FrontRight"].view == "front"
    assert body_map.REGIONS[f"IsPain{part}BackRight"].view == "back"


# --- (e) what is mandatory ---------------------------------------------------------------------

OPTIONAL_DIAGNOSES = {f"DiagnosticNumber{n}" for n in range(2, 7)}


def test_every_clinician_item_is_mandatory_except_free_text_and_extra_diagnoses() -> None:
    definition = get_definition("1b")
    for item in definition.items():
        if item.group:
            continue  # a group's boxes are answered together: the group is mandatory
        if item.type == "text" or item.id in OPTIONAL_DIAGNOSES:
            assert not item.mandatory, item.id
        elif not _conditional(definition, item):
            assert item.mandatory, item.id
    assert definition.item("DiagnosticNumber1").mandatory


def test_conditional_clinician_items_are_mandatory_when_shown() -> None:
    definition = get_definition("1b")
    conditional = [
        i for i in definition.items() if not i.group and i.type != "text"
        and _conditional(definition, i)
    ]  # fmt: skip
    assert {i.id for i in conditional} >= {
        "MedicationAFrequency", "MedicationBFrequency", "MedicationCFrequency",
        "RadiologicalF_Scoliosis_Subcategory", "RadiologicalF_Spondylolisthesis",
    }  # fmt: skip
    assert all(i.mandatory for i in conditional)


def test_every_clinician_group_is_mandatory_and_has_a_none_box() -> None:
    definition = get_definition("1b")
    for group in definition.groups():
        assert group.mandatory, group.id
        if group.id == "assessed_by":
            # Somebody always assessed the patient; "Annet helsepersonell" covers the rest.
            assert group.none_item is None
        else:
            assert group.none_item is not None, group.id


def test_none_boxes_of_the_clinician_form() -> None:
    definition = get_definition("1b")
    none_boxes = {g.id: g.none_item.id for g in definition.groups() if g.none_item}
    assert none_boxes == {
        "medication_classes": "MedicationNone",
        "radiological_examinations": "Radiological_None",
        "radiological_findings": "RadiologicalF_Normal",
        "other_supplementary_diagnostics": "OtherSupplementaryDiagnostic_None",
        "recommended_outside_specialist_care": "Treatment_NoTreatment",
        "pathway_content_types": "Treatment_ContentNone",
        "referred_on": "Treatment_NoReferral",
    }


@pytest.mark.parametrize("form", ["1a", "2", "3"])
def test_patient_items_are_not_mandatory(form: str) -> None:
    definition = get_definition(form)
    assert not [i.id for i in definition.items() if i.mandatory]
    assert not [g.id for g in definition.groups() if g.mandatory]


# --- (f) the registry's item ids are all there -----------------------------------------------


@pytest.mark.parametrize("form", ["1b", "1a", "2", "3"])
def test_every_domain_item_id_is_present(form: str) -> None:
    ids = _ids(get_definition(form))
    assert [i for i in DOMAIN_IDS[form] if i not in ids] == []


@pytest.mark.parametrize("form", ["1b", "1a", "2", "3"])
def test_ids_beyond_domain_are_only_the_documented_ones(form: str) -> None:
    ids = set(_ids(get_definition(form)))
    assert ids - set(DOMAIN_IDS[form]) == INVENTED_IDS[form]


def test_clinician_items_follow_the_manuals_order() -> None:
    # The findings' checkboxes form one group (so «Normal» can exclude the others); the two
    # non-checkbox findings therefore come after it instead of between its boxes.
    after_group = {"RadiologicalF_Spondylolisthesis", "RadiologicalF_Scoliosis_Subcategory"}
    ids = [i for i in _ids(get_definition("1b")) if i in CLINICIAN_IDS and i not in after_group]
    assert ids == [i for i in CLINICIAN_IDS if i not in after_group]


def test_clinician_sections_follow_manual_steps_13_to_23() -> None:
    assert [s.id for s in get_definition("1b").sections] == [
        "visit", "assessment", "yellow_flags", "consultation", "medication", "imaging",
        "imaging_findings", "other_diagnostics", "diagnoses", "follow_up_outside",
        "specialist_pathway", "pathway_content", "referral",
    ]  # fmt: skip


def test_pre_treatment_sections_in_order() -> None:
    assert [s.id for s in get_definition("1a").sections] == [
        "background", "work", "pain", "pain_drawing", "odi", "ndi", "fabq", "hscl10", "uhi",
        "eq5d5l",
    ]  # fmt: skip


def test_conditions_of_the_forms() -> None:
    clinician = get_definition("1b")
    frequency = clinician.item("MedicationAFrequency").show_if
    assert frequency is not None and (frequency.item, frequency.values) == ("MedicationA", (True,))
    findings = clinician.section_of("RadiologicalF_Normal").show_if
    assert findings is not None
    assert (findings.item, findings.values) == ("Radiological_None", (False,))
    scoliosis_type = clinician.item("RadiologicalF_Scoliosis_Subcategory").show_if
    assert scoliosis_type is not None and scoliosis_type.values == (True,)
    for form in ("1a", "2", "3"):
        definition = get_definition(form)
        ndi = definition.section_of("NdiIntensity").show_if
        assert ndi is not None and (ndi.item, ndi.values) == ("IsNeckPainMainProblem", (1,))
        for status in ("S2_Working", "S2_SickLeave", "S2_Pension"):
            percent = definition.item(f"{status}_Percent")
            assert percent.show_if is not None and percent.show_if.item == status
            assert (percent.minimum, percent.maximum) == (0, 100)


# --- Instruments: codes, ranges and sections as domain.md §3 stores them ---------------------


@pytest.mark.parametrize("form", ["1a", "2", "3"])
def test_instrument_codes(form: str) -> None:
    definition = get_definition(form)
    for instrument, (ids, codes) in INSTRUMENT_CODES.items():
        for item_id in ids:
            if item_id not in definition.items_by_id:
                assert form != "1a" and instrument in {"fabq", "hscl10", "uhi"}
                continue
            item = definition.item(item_id)
            assert item.type == "choice", item_id
            assert item.code_values() == codes, item_id
            assert item.instrument == instrument, item_id
    vas = definition.item(EQ5D_VAS)
    assert (vas.type, vas.minimum, vas.maximum, vas.widget) == ("integer", 0, 100, "vas")
    for item_id in NRS_IDS:
        nrs = definition.item(item_id)
        assert (nrs.type, nrs.minimum, nrs.maximum, nrs.widget) == ("integer", 0, 10, "scale")


def test_uhi_items_5_to_7_are_the_spinal_pains() -> None:
    definition = get_definition("1a")
    assert [definition.item(f"UhiQ{n}").label.en for n in (5, 6, 7)] == [
        "Neck pain", "Upper back pain", "Low back pain",
    ]  # fmt: skip


def test_follow_up_forms_ask_the_same_as_the_pre_treatment_form() -> None:
    baseline = get_definition("1a")
    for form in ("2", "3"):
        follow_up = get_definition(form)
        shared = [i for i in _ids(follow_up) if i in baseline.items_by_id]
        assert len(shared) > 30
        for item_id in shared:
            assert follow_up.item(item_id) == baseline.item(item_id), (form, item_id)


def test_six_and_twelve_month_forms_are_identical_but_for_their_name() -> None:
    six, twelve = get_definition("2"), get_definition("3")
    assert six.sections == twelve.sections
    assert six.title != twelve.title


# --- (g) operator wording overlays -------------------------------------------------------------


@pytest.fixture
def wording_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("NNRR_FORM_WORDING_DIR", str(tmp_path))
    reload_definitions()
    yield tmp_path
    monkeypatch.undo()
    reload_definitions()


def _write_overlay(directory: Path, text: str) -> None:
    (directory / "odi.yaml").write_text(text, encoding="utf-8")


OFFICIAL_ODI = """\
items:
  OdiPain:
    label: {nb: "Offisiell overskrift", en: "Official heading"}
    codes:
      1: {nb: "Offisielt svar en", en: "Official answer one"}
"""


def test_wording_overlay_is_read_from_the_directory(tmp_path: Path) -> None:
    _write_overlay(tmp_path, OFFICIAL_ODI)
    overlays = load_wording_overlays(tmp_path)
    assert set(overlays) == {"OdiPain"}
    assert overlays["OdiPain"]["label"]["nb"] == "Offisiell overskrift"


def test_wording_overlay_replaces_label_and_code_text(wording_dir: Path) -> None:
    _write_overlay(wording_dir, OFFICIAL_ODI)
    reload_definitions()
    for form in ("1a", "2", "3"):
        odi_pain = get_definition(form).item("OdiPain")
        assert odi_pain.label.nb == "Offisiell overskrift"
        assert odi_pain.label.en == "Official heading"
        assert odi_pain.code_label(1) == "Offisielt svar en"
        assert odi_pain.code_label(2) == "Svært lette plager"  # not overlaid: our own text
        assert odi_pain.code_values() == set(range(1, 7))
    # The shared code list of the other ODI items is untouched.
    assert get_definition("1a").item("OdiPersonalCare").code_label(1) == "Ingen plager"


def test_definitions_return_to_our_wording_without_the_overlay() -> None:
    reload_definitions()
    assert get_definition("1a").item("OdiPain").label.nb == "Smerter akkurat nå"


def test_wording_overlay_naming_an_unknown_item_is_refused(wording_dir: Path) -> None:
    _write_overlay(wording_dir, "items:\n  OdiPainn:\n    label: Skrivefeil\n")
    reload_definitions()
    with pytest.raises(DefinitionError, match="OdiPainn"):
        all_definitions()
    errors = check_form_definitions()
    assert [e.id for e in errors] == ["nnrr.E101"]
    assert "OdiPainn" in errors[0].msg


def test_wording_overlay_naming_an_unknown_code_is_refused(wording_dir: Path) -> None:
    _write_overlay(wording_dir, "items:\n  OdiPain:\n    codes:\n      7: Finnes ikke\n")
    reload_definitions()
    with pytest.raises(DefinitionError, match=r"item OdiPain has no codes \[7\]"):
        all_definitions()
