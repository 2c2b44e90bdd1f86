import base64
import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

import finplat.platform.crypto.totp as totp_module
from finplat.platform.crypto import (
    counter_for,
    new_totp_secret,
    provisioning_uri,
    totp_at,
    verify_totp,
)


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode().rstrip("=")


SHA1_SECRET = _b32(b"12345678901234567890")
SHA256_SECRET = _b32(b"12345678901234567890123456789012")
SHA512_SECRET = _b32(b"1234567890123456789012345678901234567890123456789012345678901234")

# RFC 6238 Appendix B: (Unix time, SHA1, SHA256, SHA512), 8 digits, 30 s steps
RFC6238 = [
    (59, "94287082", "46119246", "90693936"),
    (1111111109, "07081804", "68084774", "25091201"),
    (1111111111, "14050471", "67062674", "99943326"),
    (1234567890, "89005924", "91819424", "93441116"),
    (2000000000, "69279037", "90698825", "38618901"),
    (20000000000, "65353130", "77737706", "47863826"),
]


@pytest.mark.parametrize(("unix", "sha1", "sha256", "sha512"), RFC6238)
def test_rfc6238_vectors(unix: int, sha1: str, sha256: str, sha512: str) -> None:
    counter = counter_for(datetime.fromtimestamp(unix, tz=UTC))
    assert counter == unix // 30
    assert totp_at(SHA1_SECRET, counter, digits=8) == sha1
    assert totp_at(SHA256_SECRET, counter, digits=8, algorithm="sha256") == sha256
    assert totp_at(SHA512_SECRET, counter, digits=8, algorithm="sha512") == sha512


def test_rfc4226_hotp_vectors_with_six_digits() -> None:
    expected = ["755224", "287082", "359152", "969429", "338314"]
    expected += ["254676", "287922", "162583", "399871", "520489"]
    assert [totp_at(SHA1_SECRET, c) for c in range(10)] == expected


def test_secrets_are_160_bit_unpadded_base32_and_lenient_about_case() -> None:
    secret = new_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert len(base64.b32decode(secret)) == 20
    assert new_totp_secret() != secret
    assert totp_at(secret.lower(), 5) == totp_at(secret, 5)


@pytest.mark.parametrize("secret", ["", "not base32!", "A"])
def test_malformed_secrets_are_rejected(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        totp_at(secret, 1)


def test_totp_at_validates_its_arguments() -> None:
    with pytest.raises(ValueError, match="negative"):
        totp_at(SHA1_SECRET, -1)
    with pytest.raises(ValueError, match="digits"):
        totp_at(SHA1_SECRET, 1, digits=5)
    with pytest.raises(ValueError, match="algorithm"):
        totp_at(SHA1_SECRET, 1, algorithm="md5")


def test_counter_for_uses_any_timezone_but_refuses_naive_times() -> None:
    moment = datetime(2026, 1, 1, 12, 0, 29, tzinfo=UTC)
    shifted = moment.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert counter_for(shifted) == counter_for(moment) == int(moment.timestamp()) // 30
    assert counter_for(moment + timedelta(seconds=1)) == counter_for(moment) + 1
    assert counter_for(moment, step_seconds=60) == int(moment.timestamp()) // 60
    with pytest.raises(ValueError, match="naive"):
        counter_for(datetime(2026, 1, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match="step"):
        counter_for(moment, step_seconds=0)


NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
C = counter_for(NOW)


def test_verify_accepts_the_current_code_and_returns_its_counter() -> None:
    assert verify_totp(SHA1_SECRET, totp_at(SHA1_SECRET, C), NOW) == C


def test_verify_allows_the_configured_drift_and_no_more() -> None:
    for offset in (-1, 1):
        assert verify_totp(SHA1_SECRET, totp_at(SHA1_SECRET, C + offset), NOW) == C + offset
    for offset in (-2, 2):
        code = totp_at(SHA1_SECRET, C + offset)
        assert verify_totp(SHA1_SECRET, code, NOW) is None
        assert verify_totp(SHA1_SECRET, code, NOW, drift_steps=2) == C + offset
    assert verify_totp(SHA1_SECRET, totp_at(SHA1_SECRET, C + 1), NOW, drift_steps=0) is None
    with pytest.raises(ValueError, match="drift"):
        verify_totp(SHA1_SECRET, "123456", NOW, drift_steps=-1)


def test_verify_refuses_replays_of_used_or_older_steps() -> None:
    code = totp_at(SHA1_SECRET, C)
    assert verify_totp(SHA1_SECRET, code, NOW, last_used_counter=C) is None
    assert verify_totp(SHA1_SECRET, code, NOW, last_used_counter=C + 1) is None
    assert verify_totp(SHA1_SECRET, code, NOW, last_used_counter=C - 1) == C
    previous = totp_at(SHA1_SECRET, C - 1)
    assert verify_totp(SHA1_SECRET, previous, NOW, last_used_counter=C - 1) is None


@pytest.mark.parametrize(
    "code",
    ["", "12345", "1234567", "12 456", "abcdef", "١٢٣٤٥٦", "-12345", "+12345"],
)
def test_verify_rejects_malformed_codes(code: str) -> None:
    assert verify_totp(SHA1_SECRET, code, NOW) is None


def test_verify_rejects_a_wrong_code_and_another_secrets_code() -> None:
    right = totp_at(SHA1_SECRET, C)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    assert verify_totp(SHA1_SECRET, wrong, NOW) is None
    other = _b32(b"another secret, same moment")
    assert right not in {totp_at(other, c) for c in (C - 1, C, C + 1)}
    assert verify_totp(other, right, NOW) is None


def test_provisioning_uri() -> None:
    uri = provisioning_uri(SHA1_SECRET, account_name="alice+1@example.com", issuer="Fin Plat/EU")
    parts = urlsplit(uri)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert parts.path == "/Fin%20Plat%2FEU:alice%2B1%40example.com"
    assert unquote(parts.path) == "/Fin Plat/EU:alice+1@example.com"
    query = parse_qs(parts.query)
    assert query == {
        "secret": [SHA1_SECRET],
        "issuer": ["Fin Plat/EU"],
        "algorithm": ["SHA1"],
        "digits": ["6"],
        "period": ["30"],
    }
    assert "+" not in parts.query  # spaces are %20, which every app decodes
    assert "issuer=Fin%20Plat%2FEU" in parts.query


@pytest.mark.parametrize(
    ("account", "issuer"), [("", "finplat"), ("a", ""), ("a:b", "finplat"), ("a", "x:y")]
)
def test_provisioning_uri_rejects_bad_labels(account: str, issuer: str) -> None:
    with pytest.raises(ValueError, match="issuer"):
        provisioning_uri(SHA1_SECRET, account_name=account, issuer=issuer)


def test_provisioning_uri_rejects_a_bad_secret() -> None:
    with pytest.raises(ValueError, match="secret"):
        provisioning_uri("!!", account_name="a", issuer="b")


def test_when_several_steps_match_the_earliest_unused_one_is_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A code collision between neighbouring steps is rare (about 1 in 10^6), so force one.
    monkeypatch.setattr(totp_module, "totp_at", lambda secret, counter: "123456")
    assert verify_totp(SHA1_SECRET, "123456", NOW) == C - 1
    assert verify_totp(SHA1_SECRET, "123456", NOW, last_used_counter=C - 1) == C
    assert verify_totp(SHA1_SECRET, "123456", NOW, last_used_counter=C + 1) is None
