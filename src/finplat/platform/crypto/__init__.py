"""Cryptography kit: key ring, field encryption, blind indexes, passwords, TOTP, tokens, JWT."""

from finplat.platform.crypto._files import KeyFileCorrupt, KeyFileMissing
from finplat.platform.crypto.blind_index import BlindIndex, normalize
from finplat.platform.crypto.fields import DecryptionFailed, FieldCipher
from finplat.platform.crypto.jwt import (
    InvalidToken,
    JwtCodec,
    generate_ed25519_pem,
    load_or_create_ed25519_pem,
)
from finplat.platform.crypto.keys import KeyRing
from finplat.platform.crypto.passwords import PasswordHasher, password_problems
from finplat.platform.crypto.tokens import hash_token, new_token, tokens_equal
from finplat.platform.crypto.totp import (
    counter_for,
    new_totp_secret,
    provisioning_uri,
    totp_at,
    verify_totp,
)

__all__ = [
    "BlindIndex",
    "DecryptionFailed",
    "FieldCipher",
    "InvalidToken",
    "JwtCodec",
    "KeyFileCorrupt",
    "KeyFileMissing",
    "KeyRing",
    "PasswordHasher",
    "counter_for",
    "generate_ed25519_pem",
    "hash_token",
    "load_or_create_ed25519_pem",
    "new_token",
    "new_totp_secret",
    "normalize",
    "password_problems",
    "provisioning_uri",
    "tokens_equal",
    "totp_at",
    "verify_totp",
]
