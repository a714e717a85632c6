"""Who is calling: Google-signed OIDC ID tokens, checked before anything else happens.

:class:`TokenVerifier` accepts a token only if it is RS256, signed by a key the issuer
publishes (:class:`~gate.api.jwks.Jwks`), from an accepted issuer, for gate's audience,
unexpired (``exp``, ``iat``, ``nbf`` with a small clock skew), and carries a verified
``email``. ``alg: none``, HMAC and every other algorithm are refused before any key is
looked up. :class:`Access` then says whether that email may call the API at all, and
which attestors it may have sign. A refused token is :class:`Unauthenticated` (HTTP
401); a caller who may not do what it asked is :class:`Forbidden` (HTTP 403).

    >>> access = Access(("*@ci.iam.gserviceaccount.com",),
    ...                 {"projects/p/attestors/prod": ("release@ci.iam.gserviceaccount.com",)})
    >>> access.check_caller("build@ci.iam.gserviceaccount.com")
    >>> access.check_attestor("build@ci.iam.gserviceaccount.com", "projects/p/attestors/prod")
    Traceback (most recent call last):
    ...
    gate.api.auth.Forbidden: build@ci.iam.gserviceaccount.com may not use attestor projects/p/attestors/prod
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from gate.api.jwks import Jwks, UnknownKey
from gate.errors import GateError

ALGORITHM = "RS256"  # what Google signs ID tokens with
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "email"]
FRESH_TOKEN = "fetch a new one: gcloud auth print-identity-token --audiences=AUDIENCE"


class Unauthenticated(GateError):
    kind = "unauthenticated"


class Forbidden(GateError):
    kind = "forbidden"


@dataclass(frozen=True)
class Caller:
    email: str
    subject: str


class TokenVerifier:
    def __init__(
        self, jwks: Jwks, *, audience: str, issuers: Sequence[str], clock_skew: float
    ) -> None:
        self.jwks, self.audience = jwks, audience
        self.issuers, self.clock_skew = tuple(issuers), clock_skew

    def caller(self, authorization: str | None) -> Caller:
        """The verified caller of an ``Authorization`` header value."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated(
                "no bearer token", hint="send Authorization: Bearer <Google ID token>"
            )
        claims = self.claims(token.strip())
        if claims.get("email_verified") is not True:
            raise Unauthenticated(
                "the token's email is not verified (email_verified is not true)",
                hint="call with a service account's ID token",
            )
        email = claims["email"]
        if not isinstance(email, str) or "@" not in email:
            raise Unauthenticated("the token's email claim is not an email address")
        return Caller(email.lower(), str(claims["sub"]))

    def claims(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"malformed token: {exc}", hint=FRESH_TOKEN) from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated(
                f"token algorithm {header.get('alg')!r} is not accepted",
                hint=f"Google ID tokens are {ALGORITHM}",
            )
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("the token names no signing key (kid)", hint=FRESH_TOKEN)
        try:
            key = self.jwks.key(kid)
        except UnknownKey as exc:
            raise Unauthenticated(exc.message, hint=exc.hint) from exc
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuers,
                leeway=self.clock_skew,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"token refused: {_reason(exc)}", hint=FRESH_TOKEN) from exc
        return claims


def _reason(exc: jwt.PyJWTError) -> str:
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "it has expired"
    if isinstance(exc, jwt.InvalidAudienceError):
        return "it is for another audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return "it is from an issuer gate does not accept"
    if isinstance(exc, jwt.InvalidSignatureError):
        return "the signature does not verify"
    return str(exc) or type(exc).__name__


class Access:
    """Which verified callers may use the API, and which attestors each may use."""

    def __init__(self, callers: Sequence[str], attestors: Mapping[str, Sequence[str]]) -> None:
        self.callers = tuple(p.lower() for p in callers)
        self.attestors = {name: tuple(p.lower() for p in who) for name, who in attestors.items()}

    def check_caller(self, email: str) -> None:
        if not matches(email, self.callers):
            raise Forbidden(
                f"{email} may not call gate's API",
                hint="ask the operators to add it to GATE_API_CALLERS",
            )

    def check_attestor(self, email: str, attestor: str) -> None:
        """Forbidden unless ``email`` is listed for ``attestor`` (unknown attestors too)."""
        if not matches(email, self.attestors.get(attestor, ())):
            raise Forbidden(
                f"{email} may not use attestor {attestor}",
                hint="ask the operators to list it in GATE_API_ATTESTOR_CALLERS for that attestor",
            )

    def offers(self, attestor: str) -> bool:
        return attestor in self.attestors


def matches(email: str, patterns: Sequence[str]) -> bool:
    """``email`` equals a pattern, or a ``*@domain`` pattern names its domain exactly.

    >>> matches("a@p.iam.gserviceaccount.com", ("*@p.iam.gserviceaccount.com",))
    True
    >>> matches("a@evil-p.iam.gserviceaccount.com", ("*@p.iam.gserviceaccount.com",))
    False
    """
    email = email.lower()
    domain = email.rpartition("@")[2]
    return any(email == p or (p.startswith("*@") and domain == p[2:]) for p in patterns)
