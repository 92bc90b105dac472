"""The national id validator: fødselsnummer, D-, H-, FH- and synthetic numbers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from hypothesis import assume, given
from hypothesis import strategies as st

from nnrr.lib.national_id import (
    NationalIdError,
    compact,
    make_national_id,
    parse_national_id,
    validate_national_id,
)

D = dt.date
EGIL_LARSEN = "24019491117"  # the manual's test user, born 1994-01-24, male

W1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
W2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def mod11(digits: str, weights: tuple[int, ...]) -> int | None:
    """The test's own mod-11 check digit (independent of the module), None when it would be 10."""
    check = (11 - sum(w * int(d) for w, d in zip(weights, digits, strict=True))) % 11
    return None if check == 10 else check


def with_checks(stem: str) -> str | None:
    """``stem`` (9 digits) with both check digits, or None when no valid number has this stem."""
    first = mod11(stem, W1)
    if first is None:
        return None
    second = mod11(stem + str(first), W2)
    return None if second is None else f"{stem}{first}{second}"


def build(ddmmyy: str, individuals: range | list[int] = range(1000)) -> str:
    """The first valid number with these six leading digits and one of these individual numbers."""
    for individual in individuals:
        number = with_checks(f"{ddmmyy}{individual:03d}")
        if number is not None:
            return number
    raise AssertionError(f"no valid number for {ddmmyy}")


def error(raw: str, **kwargs) -> NationalIdError:
    with pytest.raises(NationalIdError) as info:
        parse_national_id(raw, **kwargs)
    return info.value


# --- Valid numbers ---------------------------------------------------------------------------


def test_the_manuals_test_user():
    parsed = parse_national_id(EGIL_LARSEN)
    assert parsed.value == EGIL_LARSEN
    assert parsed.kind == "fnr"
    assert parsed.birth_date == D(1994, 1, 24)
    assert parsed.sex == "M"
    assert str(parsed) == EGIL_LARSEN
    assert parsed.formatted == "240194 91117"


@pytest.mark.parametrize(
    "raw", ["240194 91117", "240194-91117", " 24 01 94 911 17 ", "240194\t91117", "240194.91117"]
)
def test_spaces_and_hyphens_are_stripped(raw):
    assert compact(raw) == EGIL_LARSEN
    assert parse_national_id(raw).value == EGIL_LARSEN


def test_female_number():
    number = build("150386", [i for i in range(500) if i % 2 == 0])
    parsed = parse_national_id(number)
    assert parsed.sex == "F"
    assert parsed.birth_date == D(1986, 3, 15)


def test_validate_national_id_is_the_django_validator_form():
    validate_national_id(EGIL_LARSEN)
    with pytest.raises(NationalIdError):
        validate_national_id("12345678901")


# --- Each mistake has its own code and message -----------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", " - ", "--"])
def test_empty(raw):
    exc = error(raw)
    assert exc.code == "empty"
    assert "11 siffer" in exc.message


def test_none_counts_as_empty():
    assert error(None).code == "empty"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", ["2401949111a", "abc", "24O19491117", "240194_91117", "+4724019491"]
)
def test_non_digits(raw):
    exc = error(raw)
    assert exc.code == "not_digits"
    assert "bare inneholde siffer" in exc.message


@pytest.mark.parametrize(
    "raw",
    [
        "²" * 11,  # str.isdigit() is True, int() refuses it: used to raise a bare ValueError
        "٢٤٠١٩٤٩١١١٧",  # EGIL LARSEN in Arabic-Indic digits: used to be accepted as valid
        "２４０１９４９１１１７",  # full-width digits
    ],
)
def test_non_ascii_digits_are_not_digits(raw):
    assert error(raw).code == "not_digits"


@pytest.mark.parametrize(("raw", "count"), [("2401949111", 10), ("240194911170", 12), ("1", 1)])
def test_length_states_how_many_digits_were_typed(raw, count):
    exc = error(raw)
    assert exc.code == "length"
    assert f"du skrev {count}" in exc.message


def test_length_counts_digits_after_stripping_separators():
    exc = error("240194 9111")
    assert exc.code == "length"
    assert "du skrev 10" in exc.message


def test_first_check_digit_wrong():
    exc = error("24019491127")
    assert exc.code == "check_digit_1"
    assert "siffer nr. 10" in exc.message


def test_first_check_digit_impossible():
    # A stem whose first check digit would be 10 has no valid number at all.
    stem = next(f"240194{i:03d}" for i in range(1000) if mod11(f"240194{i:03d}", W1) is None)
    for last_two in ("00", "01", "99"):
        assert error(stem + last_two).code == "check_digit_1"


def test_second_check_digit_wrong():
    exc = error("24019491118")
    assert exc.code == "check_digit_2"
    assert "siffer nr. 11" in exc.message


def test_impossible_date_with_correct_check_digits():
    number = build("310294", range(500))  # 31 February 1994
    exc = error(number)
    assert exc.code == "impossible_date"
    assert "31.02.94" in exc.message
    assert "finnes ikke" in exc.message


@pytest.mark.parametrize("ddmmyy", ["001094", "240094", "241394", "320194", "300284"])
def test_other_impossible_dates(ddmmyy):
    assert error(build(ddmmyy, range(500))).code == "impossible_date"


def test_29_february_depends_on_the_century_from_the_individual_number():
    # 29.02.00: 1900 was not a leap year, 2000 was.
    assert error(build("290200", range(500))).code == "impossible_date"
    assert parse_national_id(build("290200", range(500, 1000))).birth_date == D(2000, 2, 29)


@pytest.mark.parametrize(
    ("ddmmyy", "individuals"), [("240194", range(750, 900)), ("240145", range(500, 750))]
)
def test_individual_number_outside_every_century_range(ddmmyy, individuals):
    exc = error(build(ddmmyy, individuals))
    assert exc.code == "individual_number"
    assert "Individnummeret" in exc.message


@pytest.mark.parametrize("first_digit", ["8", "9"])
def test_fh_number(first_digit):
    exc = error(build(f"{first_digit}12345"))
    assert exc.code == "fh_number"
    assert "FH-nummer" in exc.message


def test_d_number_is_accepted_with_its_birth_date():
    number = build("640194", range(900, 1000))  # day 24 + 40
    parsed = parse_national_id(number)
    assert parsed.kind == "dnr"
    assert parsed.birth_date == D(1994, 1, 24)
    assert parsed.value == number


def test_d_number_with_impossible_day():
    assert error(build("720194", range(500))).code == "impossible_date"  # day 32


def test_h_number_is_accepted_with_its_birth_date():
    number = build("244194", range(900, 1000))  # month 1 + 40
    parsed = parse_national_id(number)
    assert parsed.kind == "hnr"
    assert parsed.birth_date == D(1994, 1, 24)


SYNTHETIC = build("248194", range(900, 1000))  # month 1 + 80


def test_synthetic_number_allowed():
    parsed = parse_national_id(SYNTHETIC, allow_synthetic=True)
    assert parsed.kind == "synthetic"
    assert parsed.birth_date == D(1994, 1, 24)


def test_synthetic_number_refused():
    exc = error(SYNTHETIC, allow_synthetic=False)
    assert exc.code == "synthetic"
    assert "demo- og testmiljøet" in exc.message


def test_synthetic_d_number():
    parsed = parse_national_id(build("648194", range(900, 1000)), allow_synthetic=True)
    assert (parsed.kind, parsed.birth_date) == ("synthetic", D(1994, 1, 24))


def test_synthetic_default_follows_settings():
    with override_settings(DEMO=False, TESTING=False):
        assert error(SYNTHETIC).code == "synthetic"
        assert parse_national_id(SYNTHETIC, allow_synthetic=True).kind == "synthetic"
    with override_settings(DEMO=True, TESTING=False):
        assert parse_national_id(SYNTHETIC).kind == "synthetic"
    with override_settings(DEMO=False, TESTING=True):
        assert parse_national_id(SYNTHETIC).kind == "synthetic"
        assert error(SYNTHETIC, allow_synthetic=False).code == "synthetic"


def test_ordinary_numbers_do_not_depend_on_allow_synthetic():
    for allow in (True, False):
        assert parse_national_id(EGIL_LARSEN, allow_synthetic=allow).kind == "fnr"


@pytest.mark.parametrize(
    ("ddmmyy", "individuals", "year"),
    [
        ("010199", range(0, 500), 1999),
        ("010140", range(0, 500), 1940),
        ("010100", range(0, 500), 1900),
        ("010199", range(900, 1000), 1999),
        ("010140", range(900, 1000), 1940),
        ("010154", range(500, 750), 1854),
        ("010199", range(500, 750), 1899),
        ("010100", range(500, 1000), 2000),
        ("010139", range(500, 1000), 2039),
        ("010139", range(750, 900), 2039),
    ],
)
def test_birth_century_from_the_individual_number(ddmmyy, individuals, year):
    assert parse_national_id(build(ddmmyy, individuals)).birth_date.year == year


# --- make_national_id ------------------------------------------------------------------------


def test_make_national_id_rebuilds_the_test_user():
    assert make_national_id(D(1994, 1, 24), 911) == EGIL_LARSEN


def test_make_national_id_returns_none_when_the_check_digit_would_be_10():
    individual = next(i for i in range(500) if with_checks(f"240194{i:03d}") is None)
    assert make_national_id(D(1994, 1, 24), individual) is None


@pytest.mark.parametrize(
    ("birth", "individual"),
    [
        (D(1994, 1, 24), 750),  # 750–899 has no century for 1940–1999
        (D(1994, 1, 24), 501),  # 500–749 with year ≥ 54 means 1800s
        (D(2005, 1, 24), 100),  # 000–499 means 1900s
        (D(1994, 1, 24), 1000),
        (D(1994, 1, 24), -1),
    ],
)
def test_make_national_id_refuses_an_individual_number_that_does_not_fit(birth, individual):
    assert make_national_id(birth, individual) is None


def test_make_national_id_synthetic():
    number = make_national_id(D(1994, 1, 24), 911, synthetic=True)
    assert number is not None
    assert number[2:4] == "81"
    assert parse_national_id(number, allow_synthetic=True).birth_date == D(1994, 1, 24)
    assert error(number, allow_synthetic=False).code == "synthetic"


# --- Properties ------------------------------------------------------------------------------


@st.composite
def births_and_individuals(draw):
    birth = draw(st.dates(min_value=D(1900, 1, 1), max_value=D(2039, 12, 31)))
    if birth.year < 1940:
        individual = draw(st.integers(0, 499))
    elif birth.year < 2000:
        individual = draw(st.integers(0, 499) | st.integers(900, 999))
    else:
        individual = draw(st.integers(500, 999))
    return birth, individual


@given(births_and_individuals(), st.booleans())
def test_make_national_id_parses_back(birth_and_individual, synthetic):
    birth, individual = birth_and_individual
    number = make_national_id(birth, individual, synthetic=synthetic)
    month = birth.month + (80 if synthetic else 0)
    stem = f"{birth.day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    # None exactly when a check digit would be 10.
    assert number == with_checks(stem)
    if number is None:
        return
    parsed = parse_national_id(number, allow_synthetic=True)
    assert parsed.value == number
    assert parsed.birth_date == birth
    assert parsed.kind == ("synthetic" if synthetic else "fnr")
    assert parsed.sex == ("M" if int(number[8]) % 2 else "F")
    assert parsed.sex == ("M" if individual % 2 else "F")


def single_digit_changes(number: str):
    for position in range(11):
        for digit in "0123456789":
            if digit != number[position]:
                yield position, number[:position] + digit + number[position + 1 :]


def assert_every_single_digit_change_is_caught(number: str) -> None:
    """Every weight is non-zero mod 11 (a prime), so a change of one digit in positions 1–9 always
    changes the first check digit; a change of either check digit contradicts its own sum."""
    for position, changed in single_digit_changes(number):
        exc = error(changed, allow_synthetic=True)
        assert exc.code == ("check_digit_2" if position == 10 else "check_digit_1"), (
            position,
            changed,
        )


def test_every_single_digit_change_of_the_test_user_is_invalid():
    assert_every_single_digit_change_is_caught(EGIL_LARSEN)


@given(births_and_individuals(), st.booleans())
def test_every_single_digit_change_is_invalid(birth_and_individual, synthetic):
    birth, individual = birth_and_individual
    number = make_national_id(birth, individual, synthetic=synthetic)
    assume(number is not None)
    assert_every_single_digit_change_is_caught(number)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_every_single_digit_change_of_any_checksummed_stem_is_caught(stem):
    # The mod-11 property does not depend on the date part: any stem with both check digits.
    number = with_checks(stem)
    assume(number is not None)
    assert_every_single_digit_change_is_caught(number)


def only_national_id_errors(raw: str, allow_synthetic: bool | None) -> None:
    try:
        parsed = parse_national_id(raw, allow_synthetic=allow_synthetic)
    except NationalIdError as exc:
        assert exc.code in {
            "empty",
            "not_digits",
            "length",
            "check_digit_1",
            "check_digit_2",
            "fh_number",
            "synthetic",
            "impossible_date",
            "individual_number",
        }
        assert exc.message
    else:
        assert len(parsed.value) == 11
        assert parsed.value.isascii()
        assert parsed.value.isdigit()


@given(st.text(), st.sampled_from([None, True, False]))
def test_arbitrary_text_raises_only_national_id_error(raw, allow_synthetic):
    only_national_id_errors(raw, allow_synthetic)


@given(st.text(alphabet="0123456789 -.²٣５", max_size=14), st.sampled_from([None, True, False]))
def test_digit_like_text_raises_only_national_id_error(raw, allow_synthetic):
    only_national_id_errors(raw, allow_synthetic)


@given(st.from_regex(r"[0-9]{9}", fullmatch=True), st.sampled_from([True, False]))
def test_checksummed_numbers_raise_only_national_id_error(stem, allow_synthetic):
    # Reaches the date rules, which random text almost never does.
    number = with_checks(stem)
    assume(number is not None)
    only_national_id_errors(number, allow_synthetic)
