"""Norwegian eID login over OpenID Connect: HelseID and ID-porten.

The authorization code flow with PKCE (S256), a ``state`` and a ``nonce`` kept in the session, and
client authentication by ``private_key_jwt`` (or a client secret where the ID-porten registration
uses one). The ID token's signature, issuer, audience, expiry and nonce are verified here against
the provider's published keys (discovery document + JWKS, cached per process, fetched again when a
token names a key id we do not know). Each provider is configured only by environment variables
(see docs/operations.md) and offered on the login page exactly when its issuer is set.

Authlib does the OAuth 2.0 client work (PKCE, the token request, the client assertion); joserfc
(Authlib's JOSE library) verifies the ID token.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.core.exceptions import ImproperlyConfigured
from joserfc import jws, jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey

PENDING_SESSION_KEY = "nnrr_oidc_pending"
LOGOUT_SESSION_KEY = "nnrr_oidc_logout"
HTTP_TIMEOUT = 10
DISCOVERY_TTL_SECONDS = 3600
# A token naming an unknown key id makes us fetch the JWKS again, but not more often than this.
JWKS_MIN_REFRESH_SECONDS = 10
CLOCK_LEEWAY_SECONDS = 60
SIGNING_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]

# Levels of assurance, low to high. ID-porten names them in ``acr``; HelseID (and ID-porten's
# older names) use Level3/Level4, and HelseID's own claims say 3/4 or substantial/high.
ASSURANCE_RANK: dict[str, int] = {
    "idporten-loa-low": 1,
    "level2": 1,
    "2": 1,
    "low": 1,
    "idporten-loa-substantial": 2,
    "level3": 2,
    "3": 2,
    "substantial": 2,
    "idporten-loa-high": 3,
    "level4": 3,
    "4": 3,
    "high": 3,
}
HELSEID_SECURITY_LEVEL = "helseid://claims/identity/security_level"
HELSEID_ASSURANCE_LEVEL = "helseid://claims/identity/assurance_level"
HELSEID_PID = "helseid://claims/identity/pid"


class LoginRefused(Exception):
    """The login cannot go on; ``reason`` is a short code for the audit trail, the message is for
    the person."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class ProviderConfig:
    name: str  # "helseid" or "idporten"
    label: str
    issuer: str
    client_id: str
    client_secret: str = ""
    private_key_file: str = ""
    key_id: str = ""
    secret_method: str = "client_secret_basic"  # noqa: S105 - a method name, not a secret
    acr_values: tuple[str, ...] = ()
    minimum_rank: int = 3
    scopes: tuple[str, ...] = ("openid", "profile")
    pid_claims: tuple[str, ...] = ("pid",)


PROVIDER_LABELS = {"helseid": "HelseID", "idporten": "ID-porten"}


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def provider_config(name: str) -> ProviderConfig | None:
    """The provider's configuration from the environment, or ``None`` when its issuer is unset."""
    if name not in PROVIDER_LABELS:
        return None
    prefix = f"NNRR_{name.upper()}_"
    issuer = _env(prefix + "ISSUER").rstrip("/")
    if not issuer:
        return None
    from django.conf import settings

    if settings.PRODUCTION and not issuer.startswith("https://"):
        raise ImproperlyConfigured(f"{prefix}ISSUER must be an https:// address in production")
    client_id = _env(prefix + "CLIENT_ID")
    if not client_id:
        raise ImproperlyConfigured(f"{prefix}CLIENT_ID must be set when {prefix}ISSUER is set")
    key_file = _env(prefix + "PRIVATE_KEY_FILE")
    secret = _env(prefix + "CLIENT_SECRET") if name == "idporten" else ""
    if name == "helseid" and not key_file:
        raise ImproperlyConfigured("HelseID needs NNRR_HELSEID_PRIVATE_KEY_FILE (private_key_jwt)")
    if name == "idporten" and not (key_file or secret):
        raise ImproperlyConfigured(
            "ID-porten needs NNRR_IDPORTEN_PRIVATE_KEY_FILE or NNRR_IDPORTEN_CLIENT_SECRET"
        )
    secret_method = _env(prefix + "CLIENT_AUTH_METHOD") or "client_secret_basic"
    if secret_method not in {"client_secret_basic", "client_secret_post"}:
        raise ImproperlyConfigured(
            f"{prefix}CLIENT_AUTH_METHOD must be client_secret_basic or client_secret_post"
        )
    default_acr = "idporten-loa-high" if name == "idporten" else ""
    acr_raw = os.environ.get(prefix + "ACR_VALUES")
    acr_values = tuple((default_acr if acr_raw is None else acr_raw).split())
    unknown = [value for value in acr_values if value.lower() not in ASSURANCE_RANK]
    if unknown:
        raise ImproperlyConfigured(f"{prefix}ACR_VALUES has unknown levels: {' '.join(unknown)}")
    # The lowest level asked for is the lowest accepted; with none configured, only "high".
    minimum = min((ASSURANCE_RANK[v.lower()] for v in acr_values), default=3)
    scopes = tuple(_env(prefix + "SCOPES").split()) or (
        (
            "openid",
            "profile",
            "helseid://scopes/identity/pid",
            "helseid://scopes/identity/security_level",
        )
        if name == "helseid"
        else ("openid", "profile")
    )
    if "openid" not in scopes:
        scopes = ("openid", *scopes)
    return ProviderConfig(
        name=name,
        label=PROVIDER_LABELS[name],
        issuer=issuer,
        client_id=client_id,
        client_secret=secret,
        private_key_file=key_file,
        key_id=_env(prefix + "KEY_ID"),
        secret_method=secret_method,
        acr_values=acr_values,
        minimum_rank=minimum,
        scopes=scopes,
        pid_claims=(HELSEID_PID, "pid") if name == "helseid" else ("pid",),
    )


def configured_providers() -> list[ProviderConfig]:
    return [c for c in (provider_config(n) for n in PROVIDER_LABELS) if c is not None]


# --- Discovery and keys, cached per process ------------------------------------------------


@dataclass
class _ProviderCache:
    metadata: dict[str, Any]
    fetched_at: float
    keys: KeySet | None = None
    keys_fetched_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


_cache: dict[str, _ProviderCache] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = requests.get(url, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise LoginRefused(
            "provider_unreachable",
            "Innloggingstjenesten svarer ikke akkurat nå. Prøv igjen om litt.",
        ) from exc
    if not isinstance(data, dict):
        raise LoginRefused("provider_unreachable", "Innloggingstjenesten svarte ikke som ventet.")
    return data


def _provider_cache(config: ProviderConfig) -> _ProviderCache:
    with _cache_lock:
        entry = _cache.get(config.issuer)
        if entry and time.monotonic() - entry.fetched_at < DISCOVERY_TTL_SECONDS:
            return entry
    metadata = _get_json(f"{config.issuer}/.well-known/openid-configuration")
    if metadata.get("issuer", "").rstrip("/") != config.issuer:
        raise LoginRefused(
            "issuer_mismatch",
            "Innloggingstjenesten oppga en annen utsteder enn den som er satt opp.",
        )
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not isinstance(metadata.get(key), str):
            raise LoginRefused("bad_discovery", "Innloggingstjenesten svarte ikke som ventet.")
    entry = _ProviderCache(metadata=metadata, fetched_at=time.monotonic())
    with _cache_lock:
        _cache[config.issuer] = entry
    return entry


def metadata(config: ProviderConfig) -> dict[str, Any]:
    return _provider_cache(config).metadata


def _signing_key(config: ProviderConfig, kid: str | None) -> Any:
    entry = _provider_cache(config)
    with entry.lock:
        for attempt in range(2):
            stale = entry.keys is None or (
                attempt == 1
                and time.monotonic() - entry.keys_fetched_at >= JWKS_MIN_REFRESH_SECONDS
            )
            if stale:
                try:
                    entry.keys = KeySet.import_key_set(_get_json(entry.metadata["jwks_uri"]))  # type: ignore[arg-type]
                except (JoseError, ValueError, TypeError) as exc:
                    raise LoginRefused(
                        "bad_jwks", "Innloggingstjenestens nøkler kunne ikke leses."
                    ) from exc
                entry.keys_fetched_at = time.monotonic()
            assert entry.keys is not None
            candidates = [k for k in entry.keys.keys if kid is None or k.kid == kid]
            if len(candidates) == 1 or (candidates and kid is not None):
                return candidates[0]
            if kid is None and len(entry.keys.keys) > 1:
                return entry.keys
    raise LoginRefused(
        "unknown_key", "Innloggingen kunne ikke bekreftes (ukjent nøkkel). Prøv igjen."
    )


# --- The flow ------------------------------------------------------------------------------


def _client_key(config: ProviderConfig) -> RSAKey | ECKey:
    path = Path(config.private_key_file)
    try:
        raw = path.read_text()
    except OSError as exc:
        raise ImproperlyConfigured(f"cannot read the private key file {path}") from exc
    key: RSAKey | ECKey
    if raw.lstrip().startswith("{"):
        data = json.loads(raw)
        key = ECKey.import_key(data) if data.get("kty") == "EC" else RSAKey.import_key(data)
    else:
        # A PEM file: RSA, or an EC key (SEC 1 "EC PRIVATE KEY" or PKCS #8 "PRIVATE KEY").
        try:
            key = RSAKey.import_key(raw)
        except JoseError:
            key = ECKey.import_key(raw)
    return key


def _session(config: ProviderConfig, redirect_uri: str) -> OAuth2Session:
    meta = metadata(config)
    if config.private_key_file:
        key = _client_key(config)
        kid = config.key_id or key.kid or key.thumbprint()
        # The key itself, not its PEM text: Authlib reads text as an RSA key, so an EC key
        # would fail at the token request.
        session = OAuth2Session(
            config.client_id,
            key,
            token_endpoint_auth_method="private_key_jwt",  # noqa: S106 - a method name
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
        alg = "ES256" if isinstance(key, ECKey) else "RS256"
        # The assertion's audience is the issuer (what HelseID and ID-porten expect).
        session.register_client_auth_method(
            PrivateKeyJWT(config.issuer, headers={"kid": kid}, alg=alg)
        )
    else:
        session = OAuth2Session(
            config.client_id,
            config.client_secret,
            token_endpoint_auth_method=config.secret_method,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
        )
    session.metadata = meta
    return session


def start(config: ProviderConfig, session_store: Any, redirect_uri: str, next_url: str) -> str:
    """Remember state, nonce and PKCE verifier in the session; return the provider's login URL."""
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    pending = dict(session_store.get(PENDING_SESSION_KEY) or {})
    # A person may start a login in two tabs; keep only a few pending ones.
    while len(pending) >= 5:
        pending.pop(next(iter(pending)))
    pending[state] = {
        "provider": config.name,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "started": time.time(),
    }
    session_store[PENDING_SESSION_KEY] = pending
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": config.client_id,
        "redirect_uri": redirect_uri,
        "scope": " ".join(config.scopes),
        "state": state,
        "nonce": nonce,
        "code_challenge": create_s256_code_challenge(verifier),
        "code_challenge_method": "S256",
    }
    if config.acr_values:
        params["acr_values"] = " ".join(config.acr_values)
    endpoint = metadata(config)["authorization_endpoint"]
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"


@dataclass(frozen=True)
class VerifiedLogin:
    provider: str
    issuer: str
    subject: str
    national_id: str
    name: str
    acr: str
    id_token: str
    next_url: str


def _assurance(claims: dict[str, Any]) -> str:
    for claim in ("acr", HELSEID_SECURITY_LEVEL, HELSEID_ASSURANCE_LEVEL):
        value = claims.get(claim)
        if value not in (None, ""):
            return str(value)
    return ""


def verify_id_token(config: ProviderConfig, id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims, after checking signature, issuer, audience, expiry and nonce."""
    try:
        header = jws.extract_compact(id_token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise LoginRefused("bad_token", "Innloggingen kunne ikke bekreftes.") from exc
    if header.get("alg") not in SIGNING_ALGORITHMS:
        raise LoginRefused("bad_token", "Innloggingen kunne ikke bekreftes (ukjent algoritme).")
    key = _signing_key(config, header.get("kid"))
    try:
        token = jwt.decode(id_token, key, algorithms=SIGNING_ALGORITHMS)
    except JoseError as exc:
        raise LoginRefused(
            "bad_signature", "Innloggingen kunne ikke bekreftes (ugyldig signatur)."
        ) from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": config.issuer},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as exc:
        # Only a token past its expiry is "expired"; one without ``exp`` is malformed.
        if isinstance(exc, ExpiredTokenError):
            raise LoginRefused(
                "expired_token", "Innloggingen var utløpt. Logg inn på nytt."
            ) from exc
        raise LoginRefused("bad_claims", "Innloggingen kunne ikke bekreftes.") from exc
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.client_id not in audiences or (
        len(audiences) > 1 and claims.get("azp") != config.client_id
    ):
        raise LoginRefused(
            "wrong_audience", "Innloggingen var ment for en annen tjeneste og godtas ikke."
        )
    if not nonce or not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
        raise LoginRefused(
            "nonce_mismatch",
            "Innloggingen kunne ikke bekreftes (gjenbrukt svar). Logg inn på nytt.",
        )
    return claims


def finish(
    config: ProviderConfig, session_store: Any, redirect_uri: str, params: dict[str, str]
) -> VerifiedLogin:
    """Check the callback against the pending login, fetch and verify the tokens."""
    pending = dict(session_store.get(PENDING_SESSION_KEY) or {})
    state = params.get("state", "")
    entry = pending.pop(state, None) if state else None
    session_store[PENDING_SESSION_KEY] = pending
    if params.get("error"):
        # The person cancelled, or the provider refused; nothing to log in with either way (some
        # providers leave out the state on errors).
        raise LoginRefused("provider_error", "Innloggingen ble avbrutt eller avvist.")
    if entry is None or entry.get("provider") != config.name:
        raise LoginRefused(
            "state_mismatch",
            "Innloggingen passet ikke med denne nettleserøkten. Start innloggingen på nytt.",
        )
    if time.time() - float(entry.get("started", 0)) > 900:
        raise LoginRefused("stale_login", "Innloggingen tok for lang tid. Start på nytt.")
    code = params.get("code", "")
    if not code:
        raise LoginRefused("no_code", "Innloggingstjenesten sendte ikke noe svar å logge inn med.")
    session = _session(config, redirect_uri)
    try:
        token = session.fetch_token(
            metadata(config)["token_endpoint"],
            code=code,
            grant_type="authorization_code",
            code_verifier=entry["verifier"],
        )
    except Exception as exc:
        raise LoginRefused(
            "token_request_failed", "Innloggingstjenesten godtok ikke innloggingen. Prøv igjen."
        ) from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise LoginRefused("no_id_token", "Innloggingstjenesten sendte ikke ID-token.")
    claims = verify_id_token(config, id_token, entry["nonce"])
    acr = _assurance(claims)
    if ASSURANCE_RANK.get(acr.lower(), 0) < config.minimum_rank:
        raise LoginRefused(
            "low_assurance",
            "Du logget inn med et for lavt sikkerhetsnivå. Registeret krever høyt sikkerhetsnivå "
            "(for eksempel BankID eller Buypass).",
        )
    national_id = next((str(claims[c]) for c in config.pid_claims if claims.get(c)), "")
    name = str(claims.get("name") or "")
    if not national_id or not name:
        userinfo_endpoint = metadata(config).get("userinfo_endpoint")
        if isinstance(userinfo_endpoint, str):
            try:
                response = session.get(userinfo_endpoint, timeout=HTTP_TIMEOUT)
                response.raise_for_status()
                info = response.json()
            except (requests.RequestException, ValueError) as exc:
                raise LoginRefused(
                    "userinfo_failed", "Innloggingstjenesten svarte ikke som ventet."
                ) from exc
            if isinstance(info, dict) and info.get("sub") == claims["sub"]:
                national_id = national_id or next(
                    (str(info[c]) for c in config.pid_claims if info.get(c)), ""
                )
                name = name or str(info.get("name") or "")
    if not national_id:
        raise LoginRefused("no_pid", "Innloggingstjenesten oppga ikke fødselsnummeret ditt.")
    return VerifiedLogin(
        provider=config.name,
        issuer=config.issuer,
        subject=str(claims["sub"]),
        national_id=national_id,
        name=name,
        acr=acr,
        id_token=id_token,
        next_url=str(entry.get("next") or ""),
    )


def end_session_url(config: ProviderConfig, id_token: str, post_logout_redirect_uri: str) -> str:
    """The provider's end-session URL, or "" when it publishes none."""
    try:
        endpoint = metadata(config).get("end_session_endpoint")
    except LoginRefused:
        return ""
    if not isinstance(endpoint, str) or not endpoint:
        return ""
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "client_id": config.client_id,
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(params)}"
