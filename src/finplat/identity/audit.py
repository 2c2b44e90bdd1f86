"""The audit log's model: append-only entries linked by SHA-256 into a tamper-evident chain.

Each entry stores the hash of the entry before it (`prev_hash`; the first stores
`GENESIS_HASH`) and its own hash, computed over all of its other fields, `seq` and `prev_hash`
included. Changing a row breaks its own hash; deleting, inserting or reordering rows breaks
the numbering or the link to the row before. Deleting the newest rows leaves a shorter chain
that is still valid: to detect that, keep the `last_hash` of a verification somewhere the
database's operators cannot write, and check that it still appears in the log.

Pure Python: the standard library and the kernel only, so an auditor's tool can reuse it.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from finplat.kernel.events import JsonValue

GENESIS_HASH: Final = "0" * 64

ACTOR_TYPES: Final = frozenset({"user", "api_key", "system", "anonymous"})

#: Integers in `details` stay within what every JSON implementation reads exactly (2**53 - 1).
MAX_SAFE_INTEGER: Final = 2**53 - 1

#: Longest value each text field may hold (the column widths of the audit table).
FIELD_LIMITS: Final[Mapping[str, int]] = {
    "actor_id": 128,
    "actor_type": 16,
    "action": 128,
    "target_type": 64,
    "target_id": 128,
    "ip": 64,
    "request_id": 128,
}

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One recorded fact: who (`actor_*`) did what (`action`) to what (`target_*`), and when.

    `details` is read-only by convention: the hash covers it.
    """

    seq: int
    id: uuid.UUID
    occurred_at: datetime
    actor_id: str | None
    actor_type: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    request_id: str | None
    details: Mapping[str, JsonValue]
    prev_hash: str
    hash: str

    def expected_hash(self) -> str:
        """The hash this entry's fields produce (equal to `hash` unless it was altered)."""
        return compute_hash(
            self.prev_hash,
            seq=self.seq,
            id=self.id,
            occurred_at=self.occurred_at,
            actor_id=self.actor_id,
            actor_type=self.actor_type,
            action=self.action,
            target_type=self.target_type,
            target_id=self.target_id,
            ip=self.ip,
            request_id=self.request_id,
            details=self.details,
        )


def canonical_bytes(
    *,
    seq: int,
    id: uuid.UUID,
    occurred_at: datetime,
    actor_id: str | None,
    actor_type: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    ip: str | None,
    request_id: str | None,
    details: Mapping[str, JsonValue],
    prev_hash: str,
) -> bytes:
    """The bytes an entry's hash is computed over; stable, so anyone can re-compute it.

    The format: one JSON object, UTF-8 encoded, with exactly these twelve members:
    `action`, `actor_id`, `actor_type`, `details`, `id`, `ip`, `occurred_at`, `prev_hash`,
    `request_id`, `seq`, `target_id`, `target_type`.

    - No whitespace: members separated by `,`, names from values by `:`.
    - Object members (at every depth, `details` included) sorted by name, comparing Unicode
      code points.
    - Absent optional fields are `null`. `seq` is a JSON integer.
    - `id` is the UUID as 36 lowercase characters with hyphens.
    - `occurred_at` is UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (always six fraction digits).
    - `details` is a JSON object whose values are null, true, false, integers within
      +/-(2**53 - 1) written in plain decimal, strings, arrays and objects; never fractions.
    - Strings are written as UTF-8 characters, except `"` and `\\` (escaped with a backslash),
      backspace, form feed, newline, carriage return and tab (`\\b \\f \\n \\r \\t`), and the
      other characters below U+0020 (`\\u00XX`, lowercase hex).

    This is Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False)`, and for these values it matches RFC 8785 (JCS) except that JCS
    sorts names by UTF-16 code unit (they differ only for names mixing characters above
    U+FFFF with ones in U+E000-U+FFFF).

    Raises TypeError or ValueError for values outside the format (floats, naive datetimes...).
    """
    document = {
        "action": action,
        "actor_id": actor_id,
        "actor_type": actor_type,
        "details": _checked_details(details),
        "id": str(id),
        "ip": ip,
        "occurred_at": format_timestamp(occurred_at),
        "prev_hash": prev_hash,
        "request_id": request_id,
        "seq": seq,
        "target_id": target_id,
        "target_type": target_type,
    }
    text = json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def compute_hash(
    prev_hash: str,
    *,
    seq: int,
    id: uuid.UUID,
    occurred_at: datetime,
    actor_id: str | None,
    actor_type: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    ip: str | None,
    request_id: str | None,
    details: Mapping[str, JsonValue],
) -> str:
    """SHA-256 (lowercase hex) of `canonical_bytes`, which include `prev_hash`."""
    data = canonical_bytes(
        seq=seq,
        id=id,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_type=actor_type,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        request_id=request_id,
        details=details,
        prev_hash=prev_hash,
    )
    return hashlib.sha256(data).hexdigest()


def format_timestamp(moment: datetime) -> str:
    """`moment` in UTC as `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    return _utc(moment).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def new_entry(
    *,
    seq: int,
    prev_hash: str,
    id: uuid.UUID,
    occurred_at: datetime,
    actor_id: str | None,
    actor_type: str,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    ip: str | None = None,
    request_id: str | None = None,
    details: Mapping[str, JsonValue] | None = None,
) -> AuditEntry:
    """The entry that follows (`seq - 1`, `prev_hash`) in the chain, validated and hashed.

    Raises ValueError or TypeError for values the log does not accept (a caller's bug).
    """
    if isinstance(seq, bool) or seq < 1:
        raise ValueError("seq must be a positive integer")
    if not _HASH.match(prev_hash):
        raise ValueError("prev_hash must be 64 lowercase hex digits")
    if actor_type not in ACTOR_TYPES:
        raise ValueError(f"actor_type must be one of {sorted(ACTOR_TYPES)}")
    if not _ACTION.match(action):
        raise ValueError(f"action must be dotted lowercase words, e.g. 'role.granted': {action!r}")
    texts = {
        "actor_id": actor_id,
        "actor_type": actor_type,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "ip": ip,
        "request_id": request_id,
    }
    for name, value in texts.items():
        if value is not None:
            _check_text(value, name)
            if len(value) > FIELD_LIMITS[name]:
                raise ValueError(f"{name} is longer than {FIELD_LIMITS[name]} characters")
    plain = _checked_details(details or {})
    moment = _utc(occurred_at)
    digest = compute_hash(
        prev_hash,
        seq=seq,
        id=id,
        occurred_at=moment,
        actor_id=actor_id,
        actor_type=actor_type,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        request_id=request_id,
        details=plain,
    )
    return AuditEntry(
        seq=seq,
        id=id,
        occurred_at=moment,
        actor_id=actor_id,
        actor_type=actor_type,
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=ip,
        request_id=request_id,
        details=plain,
        prev_hash=prev_hash,
        hash=digest,
    )


class ChainProblem(StrEnum):
    """Why a chain is broken at `ChainReport.first_broken_seq`."""

    #: The row's fields no longer produce its stored hash (or cannot be read at all).
    ALTERED = "altered"
    #: `seq` skips numbers after the previous row: rows were deleted.
    MISSING_ROWS = "missing rows"
    #: `seq` does not increase: rows were duplicated or reordered (or the input is unsorted).
    OUT_OF_ORDER = "out of order"
    #: The numbering is intact but `prev_hash` is not the previous row's hash: rows before this
    #: one were deleted and renumbered, reordered, or the previous row was rewritten whole.
    BROKEN_LINK = "deleted or reordered before this row"


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of a verification.

    `checked` counts the intact entries before the first broken one (all of them when `ok`);
    `last_hash` is the hash of the last intact entry (`GENESIS_HASH` when there is none).
    """

    ok: bool
    checked: int
    first_broken_seq: int | None
    problem: ChainProblem | None
    last_hash: str


class ChainVerifier:
    """Checks entries one at a time, in seq order, keeping only the last link: constant memory.

    The checks, in this order, for each entry: its hash, its `seq` against the previous one
    (the first entry must be seq 1), and its `prev_hash` against the previous entry's hash.
    """

    def __init__(self) -> None:
        self._prev_seq = 0
        self._prev_hash = GENESIS_HASH
        self._checked = 0
        self._broken: tuple[int, ChainProblem] | None = None

    @property
    def broken(self) -> bool:
        return self._broken is not None

    def add(self, entry: AuditEntry) -> bool:
        """Check the next entry; False once the chain is broken (later entries are ignored)."""
        if self._broken is not None:
            return False
        problem = self._problem(entry)
        if problem is not None:
            self.fail(entry.seq, problem)
            return False
        self._prev_seq, self._prev_hash = entry.seq, entry.hash
        self._checked += 1
        return True

    def fail(self, seq: int, problem: ChainProblem) -> None:
        """Record a break found outside `add` (e.g. a row that could not be decoded)."""
        if self._broken is None:
            self._broken = (seq, problem)

    def report(self) -> ChainReport:
        seq, problem = self._broken if self._broken is not None else (None, None)
        return ChainReport(
            ok=self._broken is None,
            checked=self._checked,
            first_broken_seq=seq,
            problem=problem,
            last_hash=self._prev_hash,
        )

    def _problem(self, entry: AuditEntry) -> ChainProblem | None:
        try:
            intact = entry.expected_hash() == entry.hash
        except (TypeError, ValueError):
            intact = False  # a value outside the canonical format was written into the row
        if not intact:
            return ChainProblem.ALTERED
        if entry.seq > self._prev_seq + 1:
            return ChainProblem.MISSING_ROWS
        if entry.seq <= self._prev_seq:
            return ChainProblem.OUT_OF_ORDER
        if entry.prev_hash != self._prev_hash:
            return ChainProblem.BROKEN_LINK
        return None


def verify_chain(entries: Iterable[AuditEntry]) -> ChainReport:
    """Verify `entries` (in seq order, from the first) and report the first broken link."""
    verifier = ChainVerifier()
    for entry in entries:
        if not verifier.add(entry):
            break
    return verifier.report()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return moment.astimezone(UTC)


def _check_text(value: object, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    if "\x00" in value:
        raise ValueError(f"{name} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{name} is not valid Unicode text") from None


def _checked_details(details: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    if not isinstance(details, Mapping):
        raise TypeError("details must be a mapping")
    result = _checked_json(details, "details")
    assert isinstance(result, dict)  # noqa: S101 - a mapping yields a dict
    return result


def _checked_json(value: object, path: str) -> JsonValue:
    """A plain copy of `value` when it fits the canonical format; raises otherwise."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValueError(f"{path}: integer beyond +/-(2**53 - 1)")
        return value
    if isinstance(value, str):
        _check_text(value, path)
        return value
    if isinstance(value, float):
        raise TypeError(f"{path}: floats are not allowed; use a decimal string")
    if isinstance(value, Mapping):
        copied: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path}: object keys must be strings")
            _check_text(key, path)
            copied[key] = _checked_json(item, f"{path}.{key}")
        return copied
    if isinstance(value, list | tuple):
        return [_checked_json(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise TypeError(f"{path}: {type(value).__name__} is not a JSON value")
