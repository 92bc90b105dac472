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

    With the installation key the same person gets the same value in every export and at every
    unit; with a per-export key the values (and the form ids, see ``form_id``) of two exports
    cannot be linked.
    """

    def __init__(self, key: bytes, *, hide_form_ids: bool = False) -> None:
        self._key = key
        self.hide_form_ids = hide_form_ids
        self._cache: dict[str, str] = {}

    def _digest(self, domain: bytes, value: str) -> str:
        mac = hmac.new(self._key, domain + value.encode(), hashlib.sha256).digest()
        return str(uuid.UUID(bytes=mac[:16]))

    def patient(self, national_id: str) -> str:
        cached = self._cache.get(national_id)
        if cached is None:
            cached = self._digest(b"patient:", national_id)
            if len(self._cache) < 200_000:
                self._cache[national_id] = cached
        return cached

    def form_id(self, form_id: uuid.UUID | str | None) -> str | None:
        if form_id is None:
            return None
        if not self.hide_form_ids:
            return str(form_id)
        return self._digest(b"form:", str(form_id))
