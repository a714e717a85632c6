"""A test OIDC issuer on 127.0.0.1: a JWKS endpoint and real RS256 ID tokens.

:class:`Issuer` holds RSA keys (``kid`` -> key), serves the public ones as a JWKS
document at ``/certs`` (counting fetches, with a ``Cache-Control: max-age``), and mints
tokens shaped like Google's service-account ID tokens. ``token(**claims)`` overrides
claims (``None`` removes one); ``signed_by=`` picks a key it does not publish;
``alg_none()`` is the classic unsigned forgery.

    >>> issuer = Issuer()
    >>> token = issuer.token(email="ci@p.iam.gserviceaccount.com")
    >>> jwt.get_unverified_header(token)["alg"]
    'RS256'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://accounts.google.com"
AUDIENCE = "https://gate.test.example"
CALLER = "build@ci-project.iam.gserviceaccount.com"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, max_age: int = 3600) -> None:
        self.max_age = max_age
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.published: set[str] = set()
        self.fetches = 0
        self.down = False  # answer 503 instead of the keys
        self.add_key("test-key-1")
        self.outsider = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._server: ThreadingHTTPServer | None = None
        self._tls: tuple[str, str] | None = None

    def add_key(self, kid: str, publish: bool = True) -> None:
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if publish:
            self.published.add(kid)

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid in sorted(self.published):
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.keys[kid].public_key()))
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "azp": "112233445566778899",
            "sub": "112233445566778899",
            "email": CALLER,
            "email_verified": True,
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def token(
        self, *, kid: str = "test-key-1", signed_by: rsa.RSAPrivateKey | None = None, **claims: Any
    ) -> str:
        key = signed_by or self.keys[kid]
        return jwt.encode(self.claims(**claims), key, algorithm="RS256", headers={"kid": kid})

    def alg_none(self, **claims: Any) -> str:
        header = {"alg": "none", "typ": "JWT", "kid": "test-key-1"}
        body = self.claims(**claims)
        return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(body).encode())}."

    def hs256(self, **claims: Any) -> str:
        """A token 'signed' with HMAC-SHA256 keyed by the public key's PEM (alg confusion)."""
        header = {"alg": "HS256", "typ": "JWT", "kid": "test-key-1"}
        signing_input = ".".join(
            _b64(json.dumps(part).encode()) for part in (header, self.claims(**claims))
        )
        secret = (
            self.keys["test-key-1"]
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64(mac)}"

    # -- the JWKS endpoint --------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/certs"

    def start(self, tls: tuple[str, str] | None = None) -> Issuer:
        """Serve the JWKS; ``tls`` (certificate chain file, key file) serves HTTPS."""
        self._tls = tls
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/certs":
                    self.send_error(404)
                    return
                issuer.fetches += 1
                if issuer.down:
                    self.send_error(503)
                    return
                body = json.dumps(issuer.jwks()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", f"public, max-age={issuer.max_age}")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
