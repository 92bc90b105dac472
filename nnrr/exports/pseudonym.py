"""Keyed pseudonyms (``PasientGUID``) and archive passwords."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from django.conf import settings

# No 0/O, 1/l/I: a password read off a screen and typed by hand.
PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"  # noqa: S105
PASSWORD_LENGTH = 24


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def installation_key() -> bytes:
    return str(settings.PSEUDONYM_KEY).encode()


def new_export_key() -> bytes:
    """A random key for one export ("per-eksport nøkkel"): its pseudonyms link to nothing else."""
    return secrets.token_bytes(32)


class Pseudonymiser:
    """``PasientGUID`` = HMAC-SHA256 of the national id under a key, written as a UUID.

    Decision 0013 gives each unit its own record of a person, so a unit's export names its
    patients with a key of that unit (``unit_scoped``: the key is itself an HMAC of the unit's
    reshID under the installation key): the same patient has the same value in every export of
    that unit, and two units' de-identified exports share no value. A national export by the
    Registeradministrator uses the installation key itself, so a person's courses at several
    units link (and match no unit's own export). With a per-export key the values (and the
    form ids, see ``form_id``) of two exports cannot be linked at all.
    """

    def __init__(
        self, key: bytes, *, hide_form_ids: bool = False, unit_scoped: bool = False
    ) -> None:
        self._key = key
        self.hide_form_ids = hide_form_ids
        self.unit_scoped = unit_scoped
        self._unit_keys: dict[int, bytes] = {}
        self._cache: dict[tuple[int | None, str], str] = {}

    def _digest(self, domain: bytes, value: str, key: bytes | None = None) -> str:
        mac = hmac.new(key or self._key, domain + value.encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=mac[:16]))

    def _unit_key(self, unit_id: int) -> bytes:
        key = self._unit_keys.get(unit_id)
        if key is None:
            key = hmac.new(self._key, b"unit:" + str(unit_id).encode(), hashlib.sha256).digest()
            self._unit_keys[unit_id] = key
        return key

    def patient(self, national_id: str, unit_id: int | None = None) -> str:
        """The person's pseudonym; in a unit-scoped export, that of the unit's record."""
        if self.unit_scoped and unit_id is None:
            raise ValueError("a unit-scoped pseudonym needs the unit")
        scope = unit_id if self.unit_scoped else None
        cached = self._cache.get((scope, national_id))
        if cached is None:
            key = self._unit_key(scope) if scope is not None else None
            cached = self._digest(b"patient:", national_id, key)
            if len(self._cache) < 200_000:
                self._cache[(scope, national_id)] = cached
        return cached

    def form_id(self, form_id: uuid.UUID | str | None) -> str | None:
        if form_id is None:
            return None
        if not self.hide_form_ids:
            return str(form_id)
        return self._digest(b"form:", str(form_id))
