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


# --- Showing a one-time code once, without keeping it in plain text --------------------------
# After "Bestill" the order page shows the code once. Between the POST and that page the code
# is kept in the staff member's session sealed: XOR-ed with a keystream derived from the
# server's secret, the order and a random nonce, and valid for a few minutes. A copy of the
# session table alone does not give the code.

REVEAL_SECONDS = 600


def _keystream(order_id: uuid.UUID, nonce: str, length: int) -> bytes:
    stream = b""
    counter = 0
    while len(stream) < length:
        stream += hmac.new(
            _key("order-code-reveal"), f"{order_id}:{nonce}:{counter}".encode(), hashlib.sha256
        ).digest()
        counter += 1
    return stream[:length]


def seal_for_session(order_id: uuid.UUID, code: str, now: float) -> dict[str, object]:
    """A session-safe value from which :func:`unseal_from_session` gives ``code`` back, briefly."""
    nonce = secrets.token_hex(16)
    raw = code.encode()
    sealed = bytes(a ^ b for a, b in zip(raw, _keystream(order_id, nonce, len(raw)), strict=True))
    return {"nonce": nonce, "sealed": sealed.hex(), "until": now + REVEAL_SECONDS}


def unseal_from_session(order_id: uuid.UUID, value: object, now: float) -> str | None:
    """The code sealed for this order, or None when it is missing, expired or not ours."""
    if not isinstance(value, dict):
        return None
    nonce, sealed, until = value.get("nonce"), value.get("sealed"), value.get("until")
    if not isinstance(nonce, str) or not isinstance(sealed, str):
        return None
    if not isinstance(until, int | float) or until < now:
        return None
    try:
        raw = bytes.fromhex(sealed)
    except ValueError:
        return None
    plain = bytes(a ^ b for a, b in zip(raw, _keystream(order_id, nonce, len(raw)), strict=True))
    try:
        code = plain.decode("ascii")
    except UnicodeDecodeError:
        return None
    if len(normalize_code(code)) != CODE_LENGTH:
        return None
    return code
