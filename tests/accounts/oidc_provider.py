"""A real OpenID provider for the tests: ``oidc-provider-mock`` (Authlib's server side in Flask)
running in a thread on a free port, with what a national eID provider adds on top of it:

- PKCE is enforced: the token request must carry the verifier of the authorization request's
  S256 challenge;
- client authentication is checked: a ``private_key_jwt`` assertion must be signed with the
  client's registered key (iss = sub = client id, aud = the issuer), or the client secret must
  match;
- a test can make the provider misbehave (``provider.tamper = ...``): sign the ID token with a
  foreign key, address it to another client, name another issuer, let it be expired, carry a
  stale nonce, or sign with a new key (key rotation) that the JWKS then publishes; or answer the
  userinfo request for another subject than the ID token's, late, or not at all.

The keys and the provider's application are made once per test process, when this module is
imported: making an RSA key, and reading a private one (the library checks its primes), takes a
noticeable part of a second, and a mutation run repeats these tests hundreds of times in forks of
one process that has imported them. The client's usual key is an EC key (reading it is instant);
the RSA key is used by the tests that choose it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict

CLIENT_ID = "nnrr-test-client"
CLIENT_SECRET = "test-secret-which-is-long-enough"

# The client's registered keys: the provider accepts an assertion signed by either (ES256, RS256).
CLIENT_KEY = ECKey.generate_key("P-256", parameters={"kid": "nnrr-client-key"})
RSA_CLIENT_KEY = RSAKey.generate_key(2048, parameters={"kid": "nnrr-client-rsa-key"})
# Signs the "bad_signature" ID token: a key the provider never published.
FOREIGN_KEY = RSAKey.generate_key(2048)
# The provider's next signing key, for the key rotation test.
ROTATED_KEY = RSAKey.generate_key(2048, parameters={"kid": "rotated-key"})
# The key after that one: a rotation while the JWKS already lists two keys.
NEXT_ROTATED_KEY = RSAKey.generate_key(2048, parameters={"kid": "rotated-key-2"})


@dataclass
class Provider:
    url: str
    client_key: ECKey
    rsa_client_key: RSAKey
    tamper: str = ""
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    jwks_requests: int = 0
    discovery_requests: int = 0
    challenges: dict[str, str] = field(default_factory=dict)
    rotated_key: RSAKey | None = None

    def add_user(self, sub: str, **claims: Any) -> None:
        response = requests.put(f"{self.url}/users/{sub}", json=claims, timeout=5)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str) -> str:
        """The person logs in at the provider as ``sub``; returns the callback URL (path+query)."""
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text[:500]
        location = urlsplit(response.headers["Location"])
        return f"{location.path}?{location.query}"


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


_imported_provider_keys: dict[int, RSAKey] = {}


def _provider_key() -> RSAKey:
    """The mock's own signing key, read once (the mock would read it again for every token)."""
    storage = flask.g.oidc_provider_mock_storage
    if id(storage) not in _imported_provider_keys:
        _imported_provider_keys[id(storage)] = RSAKey.import_key(
            storage.jwk.as_dict(is_private=True)
        )
    return _imported_provider_keys[id(storage)]


def _signing_key_of_the_mock(_self: Any, _client: Any) -> RSAKey:
    return _provider_key()


# The mock hands Authlib its key as a dictionary, to be read again for each ID token; this gives
# the key already read. The same key signs, only the reading is saved.
oidc_provider_mock._app.OpenIDCode.resolve_client_private_key = _signing_key_of_the_mock  # type: ignore[method-assign]


def _build_app(provider: Provider) -> flask.Flask:
    app = oidc_provider_mock.app(require_nonce=True)

    @app.before_request
    def check_token_request() -> Any:
        request = flask.request
        if request.path != "/oauth2/token" or request.method != "POST":
            return None
        form = request.form.to_dict()
        provider.token_requests.append(
            {**form, "authorization": request.headers.get("Authorization", "")}
        )
        challenge = provider.challenges.pop(form.get("code", ""), None)
        if challenge is None or _s256(form.get("code_verifier", "")) != challenge:
            return flask.jsonify({"error": "invalid_grant", "error_description": "PKCE"}), 400
        assertion = form.get("client_assertion")
        if assertion:
            try:
                alg = jws.extract_compact(assertion.encode()).protected["alg"]
                key = {"ES256": provider.client_key, "RS256": provider.rsa_client_key}[alg]
                token = jwt.decode(assertion, key, algorithms=[alg])
                claims = token.claims
                assert claims["iss"] == claims["sub"] == CLIENT_ID
                assert claims["aud"] == provider.url
                assert claims["exp"] > time.time()
                assert form.get("client_assertion_type") == (
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                )
            except Exception:
                return flask.jsonify({"error": "invalid_client"}), 401
            # Verified here; the mock (which knows only secrets) is then handed the client's id.
            fields = {k: v for k, v in form.items() if not k.startswith("client_assertion")}
            fields.update({"client_id": CLIENT_ID, "client_secret": "verified-assertion"})
            request.form = ImmutableMultiDict(fields)
            request.values = CombinedMultiDict([request.args, request.form])
            return None
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != f"Basic {expected}" and form.get("client_secret") != CLIENT_SECRET:
            return flask.jsonify({"error": "invalid_client"}), 401
        return None

    @app.after_request
    def adjust(response: flask.Response) -> flask.Response:
        request = flask.request
        if request.path == "/oauth2/authorize" and response.status_code == 302:
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            if "code" in query and request.args.get("code_challenge_method") == "S256":
                provider.challenges[query["code"][0]] = request.args.get("code_challenge", "")
        elif request.path == "/jwks":
            provider.jwks_requests += 1
            if provider.tamper == "unreadable_jwks":
                response.set_data(flask.json.dumps({"keys": [{"kty": "RSA", "n": "no key"}]}))
            elif provider.tamper == "duplicate_kid":
                # A second key under the signing key's kid, after it (what a careless rotation
                # publishes): the first one with that kid is the one to use.
                published = response.get_json()["keys"][0]
                other = {**FOREIGN_KEY.as_dict(private=False), "kid": published["kid"]}
                response.set_data(flask.json.dumps({"keys": [published, other]}))
            elif provider.rotated_key is not None:
                keys = KeySet(
                    [RSAKey.import_key(response.get_json()["keys"][0]), provider.rotated_key]
                )
                response.set_data(flask.json.dumps(keys.as_dict(private=False)))
        elif request.path == "/.well-known/openid-configuration":
            provider.discovery_requests += 1
            body = response.get_json()
            if provider.tamper == "discovery_slow":
                time.sleep(3)
            elif provider.tamper == "discovery_without_issuer":
                del body["issuer"]
                response.set_data(flask.json.dumps(body))
            elif provider.tamper == "discovery_issuer_with_slash":
                response.set_data(flask.json.dumps({**body, "issuer": body["issuer"] + "/"}))
            elif provider.tamper == "discovery_not_an_object":
                response.set_data(flask.json.dumps([body]))
            elif provider.tamper == "discovery_of_another_issuer":
                response.set_data(flask.json.dumps({**body, "issuer": "https://idp.example"}))
            elif provider.tamper == "discovery_without_jwks_uri":
                response.set_data(flask.json.dumps({**body, "jwks_uri": None}))
        elif request.path == "/userinfo" and provider.tamper in ("userinfo_fails", "userinfo_down"):
            response.set_data("Service Unavailable")
            response.status_code = 503
        elif request.path == "/userinfo" and provider.tamper == "userinfo_slow":
            time.sleep(3)
        elif request.path == "/userinfo" and provider.tamper == "userinfo_of_another_subject":
            body = response.get_json()
            body["sub"] = "another-subject"
            response.set_data(flask.json.dumps(body))
        elif request.path == "/oauth2/token" and response.status_code == 200 and provider.tamper:
            body = response.get_json()
            if provider.tamper == "no_id_token":
                del body["id_token"]
            else:
                body["id_token"] = _tampered(provider, body["id_token"])
            response.set_data(flask.json.dumps(body))
        return response

    return app


def _tampered(provider: Provider, id_token: str) -> str:
    header = dict(jws.extract_compact(id_token.encode()).protected)
    claims = jwt.decode(id_token, _provider_key(), algorithms=["RS256"]).claims
    key = _provider_key()
    now = int(time.time())
    if provider.tamper == "bad_signature":
        key = FOREIGN_KEY
    elif provider.tamper == "wrong_audience":
        claims["aud"] = "another-client"
    elif provider.tamper == "wrong_issuer":
        claims["iss"] = "https://another-issuer.example"
    elif provider.tamper == "expired":
        claims["iat"], claims["exp"] = now - 7200, now - 3600
    elif provider.tamper == "stale_nonce":
        claims["nonce"] = "a-nonce-from-an-earlier-login"
    elif provider.tamper in (
        "pid_only_in_userinfo",
        "userinfo_of_another_subject",
        "userinfo_fails",
        "userinfo_slow",
    ):
        claims.pop("pid", None)
    elif provider.tamper == "name_only_in_userinfo":
        claims.pop("name", None)
    elif provider.tamper == "rotate":
        assert provider.rotated_key is not None
        key = provider.rotated_key
        header["kid"] = key.kid
    elif provider.tamper == "audience_as_a_string":
        claims["aud"] = CLIENT_ID
    elif provider.tamper.startswith("two_audiences_"):
        claims["aud"] = [CLIENT_ID, "another-client"]
        claims.pop("azp", None)
        if provider.tamper == "two_audiences_authorised_party_us":
            claims["azp"] = CLIENT_ID
        elif provider.tamper == "two_audiences_authorised_party_another":
            claims["azp"] = "another-client"
    elif provider.tamper == "duplicate_kid":  # the mock's tokens name no key; this one does
        header["kid"] = key.kid
    elif provider.tamper == "unknown_kid":
        key = FOREIGN_KEY
        header["kid"] = "a-key-never-published"
    elif provider.tamper == "clock_ahead":  # the provider's clock 30 s ahead of ours
        claims["iat"], claims["exp"] = now + 30, now + 600
    elif provider.tamper.startswith("without_"):  # without_sub, without_exp, ...
        claims.pop(provider.tamper.removeprefix("without_"))
    elif provider.tamper == "not_a_token":
        return "not-a-token"
    elif provider.tamper == "alg_none":
        return (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
                for part in ({**header, "alg": "none"}, claims)
            )
            + "."
        )
    if provider.tamper in ("PS256", "RS512"):
        header["alg"] = provider.tamper
    return jwt.encode(header, claims, key, algorithms=[header["alg"]])


_PROVIDER = Provider(url="", client_key=CLIENT_KEY, rsa_client_key=RSA_CLIENT_KEY)
_APP = _build_app(_PROVIDER)
# The mock makes its signing key with the application; read it once here, in this process.
with _APP.test_request_context("/"):
    _APP.preprocess_request()
    _provider_key()


def start_provider() -> Iterator[Provider]:
    """The provider, served on a free port for as long as the caller keeps the generator."""
    provider = _PROVIDER
    provider.tamper = ""
    provider.rotated_key = None
    provider.token_requests.clear()
    provider.challenges.clear()
    provider.jwks_requests = 0
    provider.discovery_requests = 0
    server = werkzeug.serving.make_server("localhost", 0, _APP, threaded=True)
    provider.url = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1})
    thread.daemon = True
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        thread.join(2)
        server.server_close()
