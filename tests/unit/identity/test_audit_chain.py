import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from finplat.identity.audit import (
    GENESIS_HASH,
    AuditEntry,
    ChainProblem,
    canonical_bytes,
    new_entry,
    verify_chain,
)

START = datetime(2026, 1, 5, 14, 30, tzinfo=UTC)

#: A fixed entry, its canonical bytes and hash, written down once: if these change, every
#: stored chain stops verifying.
FIXED: dict[str, Any] = {
    "seq": 1,
    "id": uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057"),
    "occurred_at": datetime(2026, 1, 5, 14, 30, 0, 123456, tzinfo=UTC),
    "actor_id": "u-1",
    "actor_type": "user",
    "action": "role.granted",
    "target_type": "user",
    "target_id": "u-2",
    "ip": "203.0.113.7",
    "request_id": "req-1",
    "details": {"role": "admin", "ünïcode": 'ℵ "q"\n', "n": [1, True, None], "z": {"b": 2, "a": 1}},
    "prev_hash": GENESIS_HASH,
}
FIXED_CANONICAL = (
    '{"action":"role.granted","actor_id":"u-1","actor_type":"user",'
    '"details":{"n":[1,true,null],"role":"admin","z":{"a":1,"b":2},"ünïcode":"ℵ \\"q\\"\\n"},'
    '"id":"01890a5d-ac96-774b-bcce-b302099a8057","ip":"203.0.113.7",'
    '"occurred_at":"2026-01-05T14:30:00.123456Z",'
    '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
    '"request_id":"req-1","seq":1,"target_id":"u-2","target_type":"user"}'
)
FIXED_HASH = "b99f6427865125b9fc09c8d3bfdb2e09e6749cb45a1ef17596b417b0f8256504"


def chain(n: int) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    prev_hash = GENESIS_HASH
    for seq in range(1, n + 1):
        entry = new_entry(
            seq=seq,
            prev_hash=prev_hash,
            id=uuid.UUID(int=seq),
            occurred_at=START + timedelta(seconds=seq),
            actor_id=f"u-{seq % 3}",
            actor_type="user",
            action="auth.sign_in_failed",
            target_type="user",
            target_id=f"u-{seq % 3}",
            ip="198.51.100.1",
            request_id=f"r-{seq}",
            details={"attempt": seq, "reason": "bad password"},
        )
        entries.append(entry)
        prev_hash = entry.hash
    return entries


def test_a_chain_verifies() -> None:
    entries = chain(10)
    report = verify_chain(entries)
    assert report.ok
    assert report.checked == 10
    assert report.first_broken_seq is None
    assert report.problem is None
    assert report.last_hash == entries[-1].hash


def test_an_empty_chain_is_ok() -> None:
    report = verify_chain([])
    assert report.ok
    assert report.checked == 0
    assert report.last_hash == GENESIS_HASH


def test_verification_streams_and_stops_at_the_first_break() -> None:
    entries = chain(5)
    consumed: list[int] = []

    def stream() -> Any:
        for entry in [*entries[:2], dataclasses.replace(entries[2], action="x.y"), *entries[3:]]:
            consumed.append(entry.seq)
            yield entry

    report = verify_chain(stream())
    assert (report.first_broken_seq, report.checked, report.last_hash) == (3, 2, entries[1].hash)
    assert consumed == [1, 2, 3]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq", 50),
        ("id", uuid.UUID(int=99)),
        ("occurred_at", START + timedelta(microseconds=1)),
        ("actor_id", "u-9"),
        ("actor_id", None),
        ("actor_type", "system"),
        ("action", "role.revoked"),
        ("target_type", None),
        ("target_id", "u-0 "),
        ("ip", "198.51.100.2"),
        ("request_id", None),
        ("details", {"attempt": 5, "reason": "bad password", "extra": None}),
        ("details", {"attempt": 5, "reason": "bad password "}),
        ("details", {"attempt": 5.0, "reason": "bad password"}),
        ("prev_hash", "f" * 64),
        ("hash", "e" * 64),
    ],
)
def test_altering_any_field_of_a_row_is_reported_at_that_row(field: str, value: Any) -> None:
    entries = chain(9)
    tampered = dataclasses.replace(entries[4], **{field: value})
    entries[4] = tampered
    report = verify_chain(entries)
    assert not report.ok
    assert report.first_broken_seq == tampered.seq
    assert report.problem is ChainProblem.ALTERED
    assert report.checked == 4
    assert report.last_hash == entries[3].hash


def test_the_same_instant_in_another_zone_hashes_the_same() -> None:
    entries = chain(3)
    moved = entries[1].occurred_at.astimezone(timezone(timedelta(hours=-5)))
    entries[1] = dataclasses.replace(entries[1], occurred_at=moved)
    assert verify_chain(entries).ok


def test_deleting_a_middle_row_is_reported_at_the_next_row() -> None:
    entries = chain(6)
    del entries[2]
    report = verify_chain(entries)
    assert (report.ok, report.first_broken_seq, report.problem) == (
        False,
        4,
        ChainProblem.MISSING_ROWS,
    )
    assert report.checked == 2


def test_deleting_the_first_row_is_reported() -> None:
    report = verify_chain(chain(3)[1:])
    assert (report.first_broken_seq, report.problem) == (2, ChainProblem.MISSING_ROWS)


def test_deleting_and_renumbering_is_reported() -> None:
    entries = chain(6)
    del entries[2]
    entries[2:] = [dataclasses.replace(e, seq=e.seq - 1) for e in entries[2:]]
    report = verify_chain(entries)
    assert (report.first_broken_seq, report.problem) == (3, ChainProblem.ALTERED)


def test_a_rewritten_row_with_a_recomputed_hash_breaks_the_next_link() -> None:
    entries = chain(6)
    forged = dataclasses.replace(entries[2], details={"attempt": 3, "reason": "ok"})
    entries[2] = dataclasses.replace(forged, hash=forged.expected_hash())
    report = verify_chain(entries)
    assert (report.first_broken_seq, report.problem) == (4, ChainProblem.BROKEN_LINK)
    assert report.problem == "deleted or reordered before this row"


def test_swapping_two_rows_is_reported() -> None:
    entries = chain(6)
    entries[2], entries[3] = entries[3], entries[2]
    report = verify_chain(entries)
    assert (report.first_broken_seq, report.problem) == (4, ChainProblem.MISSING_ROWS)


def test_swapping_the_contents_of_two_rows_is_reported() -> None:
    entries = chain(6)
    third, fourth = entries[2], entries[3]
    entries[2] = dataclasses.replace(fourth, seq=3)
    entries[3] = dataclasses.replace(third, seq=4)
    report = verify_chain(entries)
    assert (report.first_broken_seq, report.problem) == (3, ChainProblem.ALTERED)


def test_a_repeated_row_is_out_of_order() -> None:
    entries = chain(4)
    report = verify_chain([*entries[:3], entries[2], entries[3]])
    assert (report.first_broken_seq, report.problem) == (3, ChainProblem.OUT_OF_ORDER)


def test_the_canonical_format_is_stable() -> None:
    data = canonical_bytes(**FIXED)
    assert data.decode("utf-8") == FIXED_CANONICAL
    assert hashlib.sha256(FIXED_CANONICAL.encode("utf-8")).hexdigest() == FIXED_HASH
    entry = new_entry(**FIXED)
    assert entry.hash == FIXED_HASH
    assert entry.expected_hash() == FIXED_HASH


def test_new_entries_are_normalised_and_copied() -> None:
    details: dict[str, Any] = {"roles": ("a", "b"), "nested": {"k": [1]}}
    moment = datetime(2026, 1, 5, 16, 30, tzinfo=timezone(timedelta(hours=2)))
    entry = new_entry(
        seq=1,
        prev_hash=GENESIS_HASH,
        id=uuid.UUID(int=1),
        occurred_at=moment,
        actor_id=None,
        actor_type="system",
        action="role.granted",
        details=details,
    )
    details["nested"]["k"].append(2)
    assert entry.details == {"roles": ["a", "b"], "nested": {"k": [1]}}
    assert entry.occurred_at == moment
    assert entry.occurred_at.tzinfo is UTC
    assert verify_chain([entry]).ok


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"actor_type": "robot"}, ValueError),
        ({"action": "Role Granted"}, ValueError),
        ({"action": "granted"}, ValueError),
        ({"seq": 0}, ValueError),
        ({"prev_hash": "abc"}, ValueError),
        ({"occurred_at": datetime(2026, 1, 5)}, ValueError),  # noqa: DTZ001 - naive on purpose
        ({"target_id": "x" * 129}, ValueError),
        ({"ip": "1\x002"}, ValueError),
        ({"details": {"amount": 1.5}}, TypeError),
        ({"details": {"n": 2**53}}, ValueError),
        ({"details": {"when": START}}, TypeError),
        ({"details": {1: "x"}}, TypeError),
        ({"details": {"s": "\ud800"}}, ValueError),
    ],
)
def test_values_outside_the_format_are_refused(
    changes: dict[str, Any], error: type[Exception]
) -> None:
    fields = {**FIXED, **changes}
    with pytest.raises(error):
        new_entry(**fields)
