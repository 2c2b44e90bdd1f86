import base64
import hashlib
import hmac
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from finplat.kernel import ManualClock
from finplat.platform.crypto import (
    InvalidToken,
    JwtCodec,
    KeyFileCorrupt,
    KeyFileMissing,
    generate_ed25519_pem,
    load_or_create_ed25519_pem,
)

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)  # far from the wall clock on purpose
SECRET = b"s" * 32
PEM = generate_ed25519_pem()
TTL = timedelta(minutes=15)


def _clock() -> ManualClock:
    return ManualClock(START)


def _hs(clock: ManualClock, **kwargs: Any) -> JwtCodec:
    options = {"issuer": "finplat", "audience": "finplat-api", **kwargs}
    return JwtCodec.hs256(SECRET, clock=clock, **options)


def _ed(clock: ManualClock, **kwargs: Any) -> JwtCodec:
    options = {"issuer": "finplat", "audience": "finplat-api", **kwargs}
    return JwtCodec.eddsa(PEM, clock=clock, **options)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hand_built(header: dict[str, Any], claims: dict[str, Any], sign: Any) -> str:
    head = _b64url(json.dumps(header).encode())
    body = _b64url(json.dumps(claims).encode())
    return f"{head}.{body}.{_b64url(sign(f'{head}.{body}'.encode()))}"


def _claims_of(token: str) -> dict[str, Any]:
    loaded = json.loads(_unb64url(token.split(".")[1]))
    assert isinstance(loaded, dict)
    return loaded


def _reason(codec: JwtCodec, token: str) -> str:
    with pytest.raises(InvalidToken) as info:
        codec.decode(token)
    return info.value.reason


@pytest.mark.parametrize("make", [_hs, _ed])
def test_round_trip_adds_registered_claims_from_the_injected_clock(make: Any) -> None:
    clock = _clock()
    codec = make(clock)
    token = codec.encode({"sub": "user-1", "sid": "s-1", "amr": ["pwd"]}, TTL)
    claims = codec.decode(token)
    now = int(START.timestamp())
    assert claims["sub"] == "user-1"
    assert claims["sid"] == "s-1"
    assert claims["amr"] == ["pwd"]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (now, now, now + 900)
    assert (claims["iss"], claims["aud"]) == ("finplat", "finplat-api")
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16
    assert codec.decode(codec.encode({"sub": "user-1"}, TTL))["jti"] != claims["jti"]
    header = json.loads(_unb64url(token.split(".")[0]))
    assert header["alg"] == codec.algorithm


@pytest.mark.parametrize("make", [_hs, _ed])
def test_expiry_follows_the_injected_clock(make: Any) -> None:
    clock = _clock()
    codec = make(clock)
    token = codec.encode({"sub": "u"}, TTL)
    clock.advance(TTL - timedelta(seconds=1))
    assert codec.decode(token)["sub"] == "u"
    clock.advance(timedelta(seconds=1))
    assert _reason(codec, token) == "expired"


def test_leeway_extends_expiry_by_that_many_seconds() -> None:
    clock = _clock()
    key = serialization.load_pem_private_key(PEM, password=None)
    codec = JwtCodec(
        "EdDSA",
        key,  # type: ignore[arg-type]
        key.public_key(),  # type: ignore[arg-type]
        issuer="finplat",
        audience="finplat-api",
        clock=clock,
        leeway_seconds=30,
    )
    token = codec.encode({"sub": "u"}, TTL)
    clock.advance(TTL + timedelta(seconds=29))
    assert codec.decode(token)["sub"] == "u"
    clock.advance(timedelta(seconds=1))
    assert _reason(codec, token) == "expired"


@pytest.mark.parametrize("make", [_hs, _ed])
def test_a_token_from_the_future_is_not_yet_valid(make: Any) -> None:
    later = ManualClock(START + timedelta(minutes=5))
    token = make(later).encode({"sub": "u"}, TTL)
    assert _reason(make(_clock()), token) == "not_yet_valid"


@pytest.mark.parametrize("make", [_hs, _ed])
def test_a_tampered_payload_is_a_bad_signature(make: Any) -> None:
    codec = make(_clock())
    head, _, signature = codec.encode({"sub": "user-1"}, TTL).split(".")
    claims = _claims_of(codec.encode({"sub": "user-1"}, TTL))
    claims["sub"] = "admin"
    forged = f"{head}.{_b64url(json.dumps(claims).encode())}.{signature}"
    assert _reason(codec, forged) == "bad_signature"


@pytest.mark.parametrize("make", [_hs, _ed])
def test_a_tampered_signature_is_a_bad_signature(make: Any) -> None:
    codec = make(_clock())
    head, body, signature = codec.encode({"sub": "u"}, TTL).split(".")
    raw = bytearray(_unb64url(signature))
    raw[0] ^= 0x01
    assert _reason(codec, f"{head}.{body}.{_b64url(bytes(raw))}") == "bad_signature"


def test_a_token_signed_with_another_key_is_a_bad_signature() -> None:
    other = JwtCodec.hs256(b"o" * 32, issuer="finplat", audience="finplat-api", clock=_clock())
    assert _reason(_hs(_clock()), other.encode({"sub": "u"}, TTL)) == "bad_signature"
    other_ed = JwtCodec.eddsa(
        generate_ed25519_pem(), issuer="finplat", audience="finplat-api", clock=_clock()
    )
    assert _reason(_ed(_clock()), other_ed.encode({"sub": "u"}, TTL)) == "bad_signature"


@pytest.mark.parametrize("make", [_hs, _ed])
def test_wrong_audience_and_wrong_issuer(make: Any) -> None:
    clock = _clock()
    codec = make(clock)
    assert _reason(codec, make(clock, audience="admin-api").encode({"sub": "u"}, TTL)) == (
        "wrong_audience"
    )
    assert _reason(codec, make(clock, issuer="evil").encode({"sub": "u"}, TTL)) == "wrong_issuer"


@pytest.mark.parametrize("make", [_hs, _ed])
def test_a_missing_subject_is_refused(make: Any) -> None:
    codec = make(_clock())
    assert _reason(codec, codec.encode({"role": "admin"}, TTL)) == "missing_claim"


def _valid_claims() -> dict[str, Any]:
    now = int(START.timestamp())
    return {"sub": "u", "iat": now, "nbf": now, "exp": now + 60}
    # iss, aud and jti are added per test


@pytest.mark.parametrize("make", [_hs, _ed])
def test_alg_none_is_refused(make: Any) -> None:
    claims = {**_valid_claims(), "iss": "finplat", "aud": "finplat-api", "jti": "j"}
    for alg in ("none", "None", "NONE"):
        head = _b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        body = _b64url(json.dumps(claims).encode())
        assert _reason(make(_clock()), f"{head}.{body}.") == "algorithm_not_allowed"


def test_hs256_signed_with_the_eddsa_public_key_is_refused() -> None:
    codec = _ed(_clock())
    private = serialization.load_pem_private_key(PEM, password=None)
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    claims = {**_valid_claims(), "iss": "finplat", "aud": "finplat-api", "jti": "j"}
    for public in (public_pem, public_raw):
        forged = _hand_built(
            {"alg": "HS256", "typ": "JWT"},
            claims,
            lambda msg, key=public: hmac.new(key, msg, hashlib.sha256).digest(),
        )
        assert _reason(codec, forged) == "algorithm_not_allowed"


def test_an_hs256_codec_refuses_eddsa_tokens_even_when_well_signed() -> None:
    eddsa_token = _ed(_clock()).encode({"sub": "u"}, TTL)
    assert _reason(_hs(_clock()), eddsa_token) == "algorithm_not_allowed"


def test_hand_built_valid_token_is_accepted_but_bad_time_claims_are_malformed() -> None:
    codec = _hs(_clock())

    def sign(msg: bytes) -> bytes:
        return hmac.new(SECRET, msg, hashlib.sha256).digest()

    claims = {**_valid_claims(), "iss": "finplat", "aud": "finplat-api", "jti": "j"}
    assert codec.decode(_hand_built({"alg": "HS256"}, claims, sign))["jti"] == "j"
    for bad in ("soon", True, 1.5):
        token = _hand_built({"alg": "HS256"}, {**claims, "exp": bad}, sign)
        assert _reason(codec, token) == "malformed"
    token = _hand_built({"alg": "HS256"}, {**claims, "sub": 42}, sign)
    assert _reason(codec, token) == "malformed"
    issued_later = {**claims, "iat": claims["iat"] + 60}  # nbf and exp are fine
    assert _reason(codec, _hand_built({"alg": "HS256"}, issued_later, sign)) == "not_yet_valid"


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "a.b", "....", "eyJhbGciOiJIUzI1NiJ9.x.y"])
def test_garbage_is_malformed(token: str) -> None:
    assert _reason(_hs(_clock()), token) == "malformed"


def test_encode_refuses_reserved_claims_and_bad_ttls() -> None:
    codec = _hs(_clock())
    for name in ("exp", "iat", "nbf", "iss", "aud", "jti"):
        with pytest.raises(ValueError, match=name):
            codec.encode({"sub": "u", name: "x"}, TTL)
    with pytest.raises(ValueError, match="ttl"):
        codec.encode({"sub": "u"}, timedelta(0))


def test_constructor_validation() -> None:
    clock = _clock()
    with pytest.raises(ValueError, match="32 bytes"):
        JwtCodec.hs256(b"short", issuer="i", audience="a", clock=clock)
    with pytest.raises(ValueError, match="Ed25519"):
        JwtCodec.eddsa(b"not a pem", issuer="i", audience="a", clock=clock)
    with pytest.raises(ValueError, match="same secret"):
        JwtCodec("HS256", SECRET, b"t" * 32, issuer="i", audience="a", clock=clock)
    with pytest.raises(ValueError, match="Ed25519"):
        JwtCodec("EdDSA", SECRET, SECRET, issuer="i", audience="a", clock=clock)
    with pytest.raises(ValueError, match="issuer"):
        JwtCodec.hs256(SECRET, issuer="", audience="a", clock=clock)
    with pytest.raises(ValueError, match="not supported"):
        JwtCodec("RS256", SECRET, SECRET, issuer="i", audience="a", clock=clock)  # type: ignore[arg-type]


def test_the_ed25519_key_file_is_created_only_when_allowed(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "jwt.pem"
    with pytest.raises(KeyFileMissing, match="development"):
        load_or_create_ed25519_pem(path, allow_create=False)
    assert not path.exists()
    pem = load_or_create_ed25519_pem(path, allow_create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert load_or_create_ed25519_pem(path, allow_create=False) == pem
    assert load_or_create_ed25519_pem(path, allow_create=True) == pem
    token = JwtCodec.eddsa(pem, issuer="i", audience="a", clock=_clock()).encode({"sub": "u"}, TTL)
    assert JwtCodec.eddsa(path.read_bytes(), issuer="i", audience="a", clock=_clock()).decode(token)


def test_a_corrupt_ed25519_key_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "jwt.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyFileCorrupt):
        load_or_create_ed25519_pem(path, allow_create=True)
