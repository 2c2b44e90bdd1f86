"""The key ring: master keys for envelope encryption and the blind-index key.

Master keys wrap per-value data keys (see `fields.py`); rotation adds a new active key and keeps
the old ones so existing values still decrypt until they are re-wrapped. The blind-index key is
separate and never rotates with them, because rotating it would break every equality lookup.

File format (JSON, standard base64, mode 0600):

    {"version": 1, "active_id": "k-3f9a1c2b",
     "master_keys": {"k-3f9a1c2b": "<32 bytes>"}, "blind_index_key": "<32 bytes>"}
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from finplat.platform.crypto._files import (
    KeyFileCorrupt,
    KeyFileMissing,
    read_secret_file,
    write_secret_file,
)

KEY_BYTES = 32
FILE_VERSION = 1
# Key ids appear inside field tokens separated by dots, so they never contain one.
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_key_id() -> str:
    return f"k-{secrets.token_hex(4)}"


class KeyRing:
    """Immutable set of master keys (one active) plus the blind-index key."""

    __slots__ = ("_active_id", "_blind_index_key", "_master_keys")

    def __init__(
        self, master_keys: Mapping[str, bytes], active_id: str, blind_index_key: bytes
    ) -> None:
        for key_id, key in master_keys.items():
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise ValueError(f"invalid key id {key_id!r}")
            _require_key_length(key, f"master key {key_id}")
        if active_id not in master_keys:
            raise ValueError(f"active key id {active_id!r} is not in the ring")
        _require_key_length(blind_index_key, "blind index key")
        self._master_keys = MappingProxyType(dict(master_keys))
        self._active_id = active_id
        self._blind_index_key = bytes(blind_index_key)

    @classmethod
    def generate(cls) -> KeyRing:
        key_id = new_key_id()
        return cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id, secrets.token_bytes(KEY_BYTES))

    @property
    def active_id(self) -> str:
        return self._active_id

    @property
    def active_key(self) -> bytes:
        return self._master_keys[self._active_id]

    @property
    def key_ids(self) -> frozenset[str]:
        return frozenset(self._master_keys)

    @property
    def blind_index_key(self) -> bytes:
        return self._blind_index_key

    def master_key(self, key_id: str) -> bytes | None:
        """The master key with this id, or None when the ring does not hold it."""
        return self._master_keys.get(key_id)

    def rotated(self) -> KeyRing:
        """A new ring whose active key is fresh; older keys stay for decryption."""
        key_id = new_key_id()
        while key_id in self._master_keys:
            key_id = new_key_id()
        keys = {**self._master_keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return KeyRing(keys, key_id, self._blind_index_key)

    def __repr__(self) -> str:  # never show key material
        return f"KeyRing(active_id={self._active_id!r}, key_ids={sorted(self._master_keys)!r})"

    # -- files -----------------------------------------------------------------------------

    def to_json(self) -> bytes:
        document = {
            "version": FILE_VERSION,
            "active_id": self._active_id,
            "master_keys": {k: _b64(v) for k, v in sorted(self._master_keys.items())},
            "blind_index_key": _b64(self._blind_index_key),
        }
        return (json.dumps(document, indent=2) + "\n").encode("ascii")

    @classmethod
    def from_json(cls, raw: bytes, *, source: str = "key file") -> KeyRing:
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise KeyFileCorrupt(f"{source} is not valid JSON") from None
        if not isinstance(document, dict):
            raise KeyFileCorrupt(f"{source} must hold a JSON object")
        if document.get("version") != FILE_VERSION:
            raise KeyFileCorrupt(f"{source} has an unsupported version")
        active_id = document.get("active_id")
        master = document.get("master_keys")
        if not isinstance(active_id, str) or not isinstance(master, dict) or not master:
            raise KeyFileCorrupt(f"{source} needs 'active_id' and a non-empty 'master_keys'")
        keys = {str(k): _unb64(v, f"{source}: master key {k}") for k, v in master.items()}
        blind = _unb64(document.get("blind_index_key"), f"{source}: blind index key")
        try:
            return cls(keys, active_id, blind)
        except ValueError as exc:
            raise KeyFileCorrupt(f"{source}: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        return cls.from_json(read_secret_file(path), source=f"key file {path}")

    def save(self, path: Path) -> None:
        """Write (or replace) the key file atomically with mode 0600."""
        write_secret_file(path, self.to_json(), overwrite=True)

    @classmethod
    def load_or_create(cls, path: Path, *, allow_create: bool) -> KeyRing:
        """Load the ring; create one only when allowed (development), never silently."""
        if path.exists():
            return cls.load(path)
        if not allow_create:
            raise KeyFileMissing(
                f"master key file {path} does not exist; provide it (key creation is allowed "
                "only in development mode)"
            )
        ring = cls.generate()
        try:
            write_secret_file(path, ring.to_json(), overwrite=False)
        except FileExistsError:  # another process created it first: use theirs
            return cls.load(path)
        return ring


def _require_key_length(key: bytes, what: str) -> None:
    if not isinstance(key, bytes) or len(key) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise KeyFileCorrupt(f"{what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileCorrupt(f"{what} is not valid base64") from None
