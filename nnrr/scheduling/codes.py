"""One-time codes and link tokens of orders.

The one-time code (the "yellow key") is checked against a keyed hash. So that staff can show a
pending order's code again (the manual expects it), it is also kept sealed: encrypted and
authenticated (Fernet, AES-128-CBC + HMAC-SHA256) with a key derived from the installation's
secret, never in plain text (docs/decisions/0014-showing-the-one-time-code-again.md). The link
token is derived from the order with the server's secret, so the worker can put it in a message
at any later time without the database ever holding it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B: unambiguous when read aloud or typed from a note.
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
CODE_LENGTH = 8


def _key(purpose: str) -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), purpose.encode(), hashlib.sha256).digest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hmac.new(_key("order-code"), normalize_code(code).encode(), hashlib.sha256).hexdigest()


def new_salt() -> str:
    return secrets.token_hex(16)


def link_token(order_id: uuid.UUID, salt: str) -> str:
    digest = hmac.new(_key("order-link"), f"{order_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _sealer() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_key("order-code-seal")))


def seal_code(code: str) -> str:
    """The code encrypted with the installation's secret, for showing it again."""
    return _sealer().encrypt(code.encode()).decode()


def open_code(sealed: str) -> str | None:
    """The sealed code, or None if it cannot be opened (no seal, or the secret has changed)."""
    if not sealed:
        return None
    try:
        return _sealer().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None
