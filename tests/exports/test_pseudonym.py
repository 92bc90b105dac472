"""PasientGUID and hidden form ids: keyed HMAC-SHA256 written as a UUID; archive passwords."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from nnrr.exports import pseudonym
from nnrr.exports.pseudonym import (
    PASSWORD_ALPHABET,
    PASSWORD_LENGTH,
    Pseudonymiser,
    installation_key,
    new_export_key,
    new_password,
)

NUMBER = "01017012345"


def expected(key: bytes, domain: bytes, value: str) -> str:
    mac = hmac.new(key, domain + value.encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=mac[:16]))


def test_the_patient_pseudonym_is_the_keyed_hmac_of_the_number_as_a_uuid() -> None:
    value = Pseudonymiser(b"registry-key").patient(NUMBER)
    assert value == expected(b"registry-key", b"patient:", NUMBER)
    assert str(uuid.UUID(value)) == value and len(value) == 36


def test_the_same_person_gets_the_same_pseudonym_under_the_same_key_only() -> None:
    one, two = Pseudonymiser(b"key-one"), Pseudonymiser(b"key-one")
    assert one.patient(NUMBER) == two.patient(NUMBER) == one.patient(NUMBER)
    assert Pseudonymiser(b"key-two").patient(NUMBER) != one.patient(NUMBER)
    assert one.patient("01017012346") != one.patient(NUMBER)


def test_the_cache_is_bounded_and_answers_stay_the_same_beyond_it(monkeypatch: Any) -> None:
    maker = Pseudonymiser(b"k")
    for n in range(200_000):
        maker._cache[(None, str(n))] = "x"
    value = maker.patient(NUMBER)
    assert (None, NUMBER) not in maker._cache  # full: not stored, still computed
    assert value == expected(b"k", b"patient:", NUMBER)
    maker._cache.pop((None, "0"))
    assert maker.patient(NUMBER) == value
    assert maker._cache[(None, NUMBER)] == value


def test_form_ids_are_shown_as_they_are_unless_hidden_per_export() -> None:
    form = uuid.uuid4()
    assert Pseudonymiser(b"k").form_id(form) == str(form)
    hidden = Pseudonymiser(b"k", hide_form_ids=True).form_id(form)
    assert hidden == expected(b"k", b"form:", str(form)) != str(form)
    assert Pseudonymiser(b"k", hide_form_ids=True).form_id(None) is None
    assert Pseudonymiser(b"k").form_id(None) is None
    # A form id and a number with the same text never give the same pseudonym.
    same = Pseudonymiser(b"k", hide_form_ids=True)
    assert same.form_id(NUMBER) != same.patient(NUMBER)


def test_the_installation_key_is_the_configured_pseudonym_key(settings: Any) -> None:
    settings.PSEUDONYM_KEY = "installasjonens-nøkkel"
    assert installation_key() == "installasjonens-nøkkel".encode()


def test_a_per_export_key_is_32_random_bytes() -> None:
    keys = {new_export_key() for _ in range(20)}
    assert len(keys) == 20 and {len(k) for k in keys} == {32}


def test_the_password_is_24_characters_that_cannot_be_misread() -> None:
    passwords = {new_password() for _ in range(50)}
    assert len(passwords) == 50
    assert PASSWORD_LENGTH == 24
    for password in passwords:
        assert len(password) == 24
        assert set(password) <= set(PASSWORD_ALPHABET)
    assert not set("0O1lI") & set(PASSWORD_ALPHABET)
    assert set("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") == set(
        pseudonym.PASSWORD_ALPHABET
    )


def test_a_units_pseudonym_is_keyed_by_the_hmac_of_its_reshid() -> None:
    """Decision 0013: the unit's key is HMAC-SHA256("unit:" + reshID) under the installation key;
    a unit's exports made before and after an upgrade name a patient alike only if this holds."""
    unit_key = hmac.new(b"registry-key", b"unit:104293", hashlib.sha256).digest()
    scoped = Pseudonymiser(b"registry-key", unit_scoped=True)
    assert scoped.patient(NUMBER, 104293) == expected(unit_key, b"patient:", NUMBER)
    assert scoped.patient(NUMBER, 102959) != scoped.patient(NUMBER, 104293)
