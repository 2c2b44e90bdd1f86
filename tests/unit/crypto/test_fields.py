import base64

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from finplat.platform.crypto import DecryptionFailed, FieldCipher, KeyRing
from finplat.platform.crypto.fields import _wrap, _wrap_aad

RING = KeyRing.generate()
CIPHER = FieldCipher(RING)
EMAIL = "identity.users.email"


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@given(st.text())
def test_text_round_trips(value: str) -> None:
    token = CIPHER.encrypt(value, context=EMAIL)
    assert CIPHER.decrypt_text(token, context=EMAIL) == value


@given(st.binary())
def test_bytes_round_trip(value: bytes) -> None:
    assert CIPHER.decrypt(CIPHER.encrypt(value, context="c"), context="c") == value


def test_the_token_format_is_ascii_with_the_key_id_and_random_per_value() -> None:
    token = CIPHER.encrypt("alice@example.com", context=EMAIL)
    prefix, key_id, wrapped, sealed = token.split(".")
    assert token.isascii()
    assert (prefix, key_id) == ("fe1", RING.active_id)
    assert len(_b64url_decode(wrapped)) == 12 + 32 + 16
    assert len(_b64url_decode(sealed)) == 12 + len("alice@example.com") + 16
    assert "alice" not in token
    assert CIPHER.encrypt("alice@example.com", context=EMAIL) != token  # fresh DEK and nonce
    assert CIPHER.key_id_of(token) == RING.active_id


def test_a_token_does_not_decrypt_in_another_context() -> None:
    token = CIPHER.encrypt("123-45-6789", context="onboarding.tax_id")
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(token, context=EMAIL)


def test_a_token_does_not_decrypt_under_another_key_ring() -> None:
    token = CIPHER.encrypt("secret", context=EMAIL)
    with pytest.raises(DecryptionFailed, match="unknown master key"):
        FieldCipher(KeyRing.generate()).decrypt(token, context=EMAIL)


def _flip(token: str, part: int, index: int) -> str:
    pieces = token.split(".")
    raw = bytearray(_b64url_decode(pieces[part]))
    raw[index] ^= 0x01
    pieces[part] = _b64url(bytes(raw))
    return ".".join(pieces)


@pytest.mark.parametrize(
    ("part", "index"),
    [(2, 0), (2, 20), (2, -1), (3, 0), (3, 15), (3, -1)],
)
def test_any_flipped_bit_is_detected(part: int, index: int) -> None:
    token = CIPHER.encrypt("alice@example.com", context=EMAIL)
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(_flip(token, part, index), context=EMAIL)


def test_swapping_the_data_part_between_tokens_is_detected() -> None:
    first = CIPHER.encrypt("alice@example.com", context=EMAIL).split(".")
    second = CIPHER.encrypt("mallory@example.com", context=EMAIL).split(".")
    with pytest.raises(DecryptionFailed):
        CIPHER.decrypt(".".join([*first[:3], second[3]]), context=EMAIL)


def test_relabelling_a_token_with_another_key_id_is_detected() -> None:
    ring = KeyRing.generate()
    rotated = ring.rotated()
    token = FieldCipher(ring).encrypt("v", context="c")
    pieces = token.split(".")
    pieces[1] = rotated.active_id
    with pytest.raises(DecryptionFailed):
        FieldCipher(rotated).decrypt(".".join(pieces), context="c")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "fe1",
        "fe1.k-1.AAAA",
        "fe2.k-1.AAAA.AAAA",
        "fe1.k.1.AAAA.AAAA",
        "fe1.k-1.AA*A.AAAA",
        "fe1.k-1.AAAA.AAAA",  # too short
        "fe1.k-1.AAAA.AAAA.",
        "fé1.k-1.AAAA.AAAA",
    ],
)
def test_malformed_tokens_are_rejected(token: str) -> None:
    with pytest.raises(DecryptionFailed, match="malformed"):
        CIPHER.decrypt(token, context=EMAIL)
    with pytest.raises(DecryptionFailed):
        CIPHER.key_id_of(token)


def test_error_messages_do_not_contain_the_plaintext() -> None:
    token = CIPHER.encrypt("alice@example.com", context=EMAIL)
    for bad in (_flip(token, 3, 0), _flip(token, 2, 0)):
        with pytest.raises(DecryptionFailed) as info:
            CIPHER.decrypt(bad, context=EMAIL)
        assert "alice" not in str(info.value)


def test_decrypt_text_rejects_bytes_that_are_not_utf8() -> None:
    token = CIPHER.encrypt(b"\xff\xfe", context="c")
    assert CIPHER.decrypt(token, context="c") == b"\xff\xfe"
    with pytest.raises(DecryptionFailed, match="UTF-8"):
        CIPHER.decrypt_text(token, context="c")


def test_an_empty_context_is_refused() -> None:
    with pytest.raises(ValueError, match="context"):
        CIPHER.encrypt("x", context="")


def test_rewrap_moves_the_data_key_to_the_active_key_without_touching_the_data() -> None:
    old_ring = KeyRing.generate()
    token = FieldCipher(old_ring).encrypt("alice@example.com", context=EMAIL)
    new_ring = old_ring.rotated()
    cipher = FieldCipher(new_ring)
    rewrapped = cipher.rewrap(token, context=EMAIL)
    assert cipher.key_id_of(rewrapped) == new_ring.active_id != old_ring.active_id
    assert rewrapped.split(".")[3] == token.split(".")[3]  # same ciphertext
    assert rewrapped.split(".")[2] != token.split(".")[2]
    assert cipher.decrypt_text(rewrapped, context=EMAIL) == "alice@example.com"
    # the old key can be retired once every token is re-wrapped
    retired = KeyRing({new_ring.active_id: new_ring.active_key}, new_ring.active_id, b"i" * 32)
    assert FieldCipher(retired).decrypt_text(rewrapped, context=EMAIL) == "alice@example.com"
    with pytest.raises(DecryptionFailed):
        FieldCipher(retired).decrypt(token, context=EMAIL)


def test_rewrap_returns_a_token_already_under_the_active_key_unchanged() -> None:
    token = CIPHER.encrypt("v", context="c")
    assert CIPHER.rewrap(token, context="c") == token


def test_rewrap_refuses_damaged_tokens_and_wrong_contexts() -> None:
    ring = KeyRing.generate()
    token = FieldCipher(ring).encrypt("v", context="c")
    cipher = FieldCipher(ring.rotated())
    with pytest.raises(DecryptionFailed):
        cipher.rewrap(token, context="other")
    with pytest.raises(DecryptionFailed):
        cipher.rewrap(_flip(token, 3, -1), context="c")


def test_the_data_layer_binds_the_context_on_its_own() -> None:
    # White-box: re-wrap a value's own data key for another context, keeping its data part.
    # Only the data layer's associated data can tell that the value belongs elsewhere.
    ring = KeyRing.generate()
    cipher = FieldCipher(ring)
    token = cipher.encrypt("123-45-6789", context="onboarding.tax_id")
    wrapped = _b64url_decode(token.split(".")[2])
    dek = AESGCM(ring.active_key).decrypt(
        wrapped[:12], wrapped[12:], _wrap_aad(ring.active_id, "onboarding.tax_id")
    )
    moved = _wrap(ring.active_key, ring.active_id, dek, EMAIL)
    pieces = token.split(".")
    pieces[2] = _b64url(moved)
    with pytest.raises(DecryptionFailed, match="value does not authenticate"):
        cipher.decrypt(".".join(pieces), context=EMAIL)
