"""Envelope encryption of PII columns with AES-256-GCM.

Each value gets its own random data key (DEK); the DEK is wrapped by the ring's active master
key. Rotating master keys therefore only re-wraps 60 bytes per value (`rewrap`), never the data.

Token (ASCII, fits a TEXT column):

    fe1.<key_id>.<b64url(nonce + wrapped DEK + tag)>.<b64url(nonce + ciphertext + tag)>

Both layers bind the caller's `context` (e.g. "identity.users.email") as associated data, so a
token copied into another column or record kind does not decrypt there; the wrapping layer
also binds the key id, so a token cannot be relabelled to another master key.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from finplat.platform.crypto.keys import KEY_ID_PATTERN, KeyRing

PREFIX = "fe1"
_NONCE = 12
_TAG = 16
_DEK = 32
_WRAPPED_LEN = _NONCE + _DEK + _TAG
_B64URL = re.compile(r"[A-Za-z0-9_-]+")


class DecryptionFailed(ValueError):
    """The token is malformed, tampered with, for another context, or under an unknown key.

    Messages say which, never what the value was.
    """


@dataclass(frozen=True, slots=True)
class _Parts:
    key_id: str
    wrapped: bytes  # nonce + wrapped DEK + tag
    sealed: bytes  # nonce + ciphertext + tag


class FieldCipher:
    def __init__(self, keyring: KeyRing) -> None:
        self._ring = keyring

    def encrypt(self, plaintext: str | bytes, *, context: str) -> str:
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        aad = _data_aad(context)
        dek = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + AESGCM(dek).encrypt(nonce, data, aad)
        key_id = self._ring.active_id
        wrapped = _wrap(self._ring.active_key, key_id, dek, context)
        return _format(_Parts(key_id, wrapped, sealed))

    def decrypt(self, token: str, *, context: str) -> bytes:
        parts = _parse(token)
        dek = self._unwrap(parts, context)
        return _open(dek, parts.sealed, context)

    def decrypt_text(self, token: str, *, context: str) -> str:
        try:
            return self.decrypt(token, context=context).decode("utf-8")
        except UnicodeDecodeError:
            raise DecryptionFailed("the decrypted value is not UTF-8 text") from None

    def key_id_of(self, token: str) -> str:
        """The id of the master key that wraps this token's data key (for rotation jobs)."""
        return _parse(token).key_id

    def rewrap(self, token: str, *, context: str) -> str:
        """The same value with its data key wrapped under the active master key.

        The context is needed because the wrapping layer authenticates it. The data layer is
        authenticated too before re-wrapping, so a damaged token is reported now, not later.
        """
        parts = _parse(token)
        dek = self._unwrap(parts, context)
        _open(dek, parts.sealed, context)
        if parts.key_id == self._ring.active_id:
            return token
        key_id = self._ring.active_id
        wrapped = _wrap(self._ring.active_key, key_id, dek, context)
        return _format(_Parts(key_id, wrapped, parts.sealed))

    def _unwrap(self, parts: _Parts, context: str) -> bytes:
        master = self._ring.master_key(parts.key_id)
        if master is None:
            raise DecryptionFailed(f"unknown master key id {parts.key_id!r}")
        nonce, body = parts.wrapped[:_NONCE], parts.wrapped[_NONCE:]
        try:
            return AESGCM(master).decrypt(nonce, body, _wrap_aad(parts.key_id, context))
        except InvalidTag:
            raise DecryptionFailed(
                "the data key does not authenticate (tampered, or wrong context)"
            ) from None


def _wrap(master: bytes, key_id: str, dek: bytes, context: str) -> bytes:
    nonce = secrets.token_bytes(_NONCE)
    return nonce + AESGCM(master).encrypt(nonce, dek, _wrap_aad(key_id, context))


def _open(dek: bytes, sealed: bytes, context: str) -> bytes:
    try:
        return AESGCM(dek).decrypt(sealed[:_NONCE], sealed[_NONCE:], _data_aad(context))
    except InvalidTag:
        raise DecryptionFailed(
            "the value does not authenticate (tampered, or wrong context)"
        ) from None


def _wrap_aad(key_id: str, context: str) -> bytes:
    # the key id never contains NUL, so (key id, context) is encoded unambiguously
    return f"{PREFIX}/dek\x00{key_id}\x00".encode() + _context_bytes(context)


def _data_aad(context: str) -> bytes:
    return f"{PREFIX}/data\x00".encode() + _context_bytes(context)


def _context_bytes(context: str) -> bytes:
    if not context:
        raise ValueError("an encryption context is required")
    return context.encode("utf-8")


def _format(parts: _Parts) -> str:
    return ".".join((PREFIX, parts.key_id, _b64url(parts.wrapped), _b64url(parts.sealed)))


def _parse(token: str) -> _Parts:
    if not isinstance(token, str) or not token.isascii():
        raise DecryptionFailed("malformed token")
    pieces = token.split(".")
    if len(pieces) != 4 or pieces[0] != PREFIX:
        raise DecryptionFailed("malformed token (expected fe1.<key id>.<key>.<data>)")
    _, key_id, wrapped_b64, sealed_b64 = pieces
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionFailed("malformed token (key id)")
    wrapped, sealed = _unb64url(wrapped_b64), _unb64url(sealed_b64)
    if len(wrapped) != _WRAPPED_LEN or len(sealed) < _NONCE + _TAG:
        raise DecryptionFailed("malformed token (length)")
    return _Parts(key_id, wrapped, sealed)


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes:
    if not _B64URL.fullmatch(text):
        raise DecryptionFailed("malformed token (encoding)")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionFailed("malformed token (encoding)") from None
