"""Signed access tokens (JWT) with one pinned algorithm: HS256 or EdDSA (Ed25519).

Only the configured algorithm is ever accepted, which closes the classic confusions (`alg:
none`, or an HS256 token "signed" with the EdDSA public key). Time claims are checked against
the injected clock, not the wall clock, so tests and simulations control expiry.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from finplat.kernel import Clock
from finplat.platform.crypto._files import (
    KeyFileCorrupt,
    KeyFileMissing,
    read_secret_file,
    write_secret_file,
)

Algorithm = Literal["HS256", "EdDSA"]
MIN_HS256_SECRET_BYTES = 32
REQUIRED_CLAIMS = ("exp", "iat", "nbf", "iss", "aud", "sub", "jti")
_RESERVED = frozenset({"exp", "iat", "nbf", "iss", "aud", "jti"})
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
)


class InvalidToken(ValueError):
    """The token cannot be trusted; `reason` is a stable code for logs and metrics."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid token: {reason}")
        self.reason = reason


class JwtCodec:
    def __init__(
        self,
        algorithm: Algorithm,
        signing_key: bytes | Ed25519PrivateKey,
        verify_key: bytes | Ed25519PublicKey,
        *,
        issuer: str,
        audience: str,
        clock: Clock,
        leeway_seconds: int = 0,
    ) -> None:
        if algorithm == "HS256":
            if not isinstance(signing_key, bytes) or signing_key != verify_key:
                raise ValueError("HS256 signs and verifies with the same secret bytes")
            if len(signing_key) < MIN_HS256_SECRET_BYTES:
                raise ValueError(f"an HS256 secret needs at least {MIN_HS256_SECRET_BYTES} bytes")
        elif algorithm == "EdDSA":
            if not isinstance(signing_key, Ed25519PrivateKey) or not isinstance(
                verify_key, Ed25519PublicKey
            ):
                raise ValueError("EdDSA needs an Ed25519 private key and its public key")
        else:
            raise ValueError(f"algorithm {algorithm!r} is not supported")
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        if leeway_seconds < 0:
            raise ValueError("leeway cannot be negative")
        self.algorithm = algorithm
        self.issuer = issuer
        self.audience = audience
        self._signing_key = signing_key
        self._verify_key = verify_key
        self._clock = clock
        self._leeway = leeway_seconds

    @classmethod
    def hs256(cls, secret: bytes, *, issuer: str, audience: str, clock: Clock) -> JwtCodec:
        return cls("HS256", secret, secret, issuer=issuer, audience=audience, clock=clock)

    @classmethod
    def eddsa(cls, private_key_pem: bytes, *, issuer: str, audience: str, clock: Clock) -> JwtCodec:
        key = _ed25519_from_pem(private_key_pem)
        return cls("EdDSA", key, key.public_key(), issuer=issuer, audience=audience, clock=clock)

    def encode(self, claims: Mapping[str, Any], ttl: timedelta) -> str:
        """Sign `claims` plus iat/nbf/exp (from the clock), iss, aud and a random jti."""
        if ttl <= timedelta(0):
            raise ValueError("the ttl must be positive")
        reserved = sorted(_RESERVED.intersection(claims))
        if reserved:
            raise ValueError(f"claims set by the codec may not be given: {reserved}")
        now = int(self._clock.now().timestamp())
        payload = {
            **claims,
            "iat": now,
            "nbf": now,
            "exp": now + int(ttl.total_seconds()),
            "iss": self.issuer,
            "aud": self.audience,
            "jti": secrets.token_urlsafe(16),
        }
        return jwt.encode(payload, self._signing_key, algorithm=self.algorithm)

    def decode(self, token: str) -> dict[str, Any]:
        """The verified claims; raises `InvalidToken` for anything not fully valid."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed") from None
        if header.get("alg") != self.algorithm:
            raise InvalidToken("algorithm_not_allowed")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                options={
                    "require": list(REQUIRED_CLAIMS),
                    # time claims are checked below, against the injected clock
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            reason = next((r for kind, r in _REASONS if isinstance(exc, kind)), "malformed")
            raise InvalidToken(reason) from None
        self._check_times(claims)
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        times = [claims[name] for name in ("exp", "nbf", "iat")]
        if any(isinstance(t, bool) or not isinstance(t, int) for t in times):
            raise InvalidToken("malformed")
        exp, nbf, iat = times
        now = self._clock.now().timestamp()
        if exp <= now - self._leeway:
            raise InvalidToken("expired")
        if nbf > now + self._leeway or iat > now + self._leeway:
            raise InvalidToken("not_yet_valid")


def generate_ed25519_pem() -> bytes:
    """A new Ed25519 private key, PKCS#8 PEM, unencrypted (protect the file instead)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def load_or_create_ed25519_pem(path: Path, *, allow_create: bool) -> bytes:
    """The PEM in `path`; created (mode 0600) only when allowed, i.e. in development."""
    if not path.exists():
        if not allow_create:
            raise KeyFileMissing(
                f"JWT signing key file {path} does not exist; provide it (key creation is "
                "allowed only in development mode)"
            )
        # another process may have created it first: then use theirs
        with contextlib.suppress(FileExistsError):
            write_secret_file(path, generate_ed25519_pem(), overwrite=False)
    pem = read_secret_file(path)
    try:
        _ed25519_from_pem(pem)
    except ValueError:
        raise KeyFileCorrupt(f"key file {path} does not hold an Ed25519 private key") from None
    return pem


def _ed25519_from_pem(pem: bytes) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("not an unencrypted Ed25519 private key in PEM") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the PEM private key is not an Ed25519 key, as EdDSA needs")
    return key
