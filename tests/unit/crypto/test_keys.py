import base64
import json
import re
import stat
from pathlib import Path

import pytest

from finplat.platform.crypto import KeyFileCorrupt, KeyFileMissing, KeyRing
from finplat.platform.crypto._files import write_secret_file


def test_a_generated_ring_has_one_active_32_byte_key_and_a_separate_index_key() -> None:
    ring = KeyRing.generate()
    assert re.fullmatch(r"k-[0-9a-f]{8}", ring.active_id)
    assert ring.key_ids == {ring.active_id}
    assert len(ring.active_key) == 32
    assert len(ring.blind_index_key) == 32
    assert ring.blind_index_key != ring.active_key
    assert KeyRing.generate().active_key != ring.active_key


def test_rotation_adds_a_fresh_active_key_and_keeps_the_old_ones() -> None:
    ring = KeyRing.generate()
    rotated = ring.rotated().rotated()
    assert len(rotated.key_ids) == 3
    assert ring.active_id in rotated.key_ids
    assert rotated.active_id not in ring.key_ids
    assert rotated.master_key(ring.active_id) == ring.active_key
    assert rotated.blind_index_key == ring.blind_index_key
    assert ring.key_ids == {ring.active_id}  # the original is unchanged


def test_save_and_load_round_trip_with_owner_only_permissions(tmp_path: Path) -> None:
    ring = KeyRing.generate().rotated()
    path = tmp_path / "keys" / "master-keys.json"
    ring.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = KeyRing.load(path)
    assert loaded.active_id == ring.active_id
    assert loaded.key_ids == ring.key_ids
    for key_id in ring.key_ids:
        assert loaded.master_key(key_id) == ring.master_key(key_id)
    assert loaded.blind_index_key == ring.blind_index_key
    assert [p.name for p in path.parent.iterdir()] == ["master-keys.json"]  # no temp file left


def test_save_replaces_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    ring = KeyRing.generate()
    ring.save(path)
    rotated = ring.rotated()
    rotated.save(path)
    assert KeyRing.load(path).active_id == rotated.active_id
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_load_or_create_refuses_to_create_unless_allowed(tmp_path: Path) -> None:
    path = tmp_path / "missing.json"
    with pytest.raises(KeyFileMissing, match="development"):
        KeyRing.load_or_create(path, allow_create=False)
    assert not path.exists()
    with pytest.raises(KeyFileMissing):
        KeyRing.load(path)


def test_load_or_create_creates_once_and_then_loads_the_same_ring(tmp_path: Path) -> None:
    path = tmp_path / "dev" / "keys.json"
    created = KeyRing.load_or_create(path, allow_create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = KeyRing.load_or_create(path, allow_create=True)
    assert again.active_id == created.active_id
    assert again.active_key == created.active_key
    assert KeyRing.load_or_create(path, allow_create=False).active_key == created.active_key


def _document(ring: KeyRing) -> dict[str, object]:
    loaded = json.loads(ring.to_json())
    assert isinstance(loaded, dict)
    return loaded


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(active_id="k-00000000"), "not in the ring"),
        (lambda d: d.update(master_keys={}), "master_keys"),
        (lambda d: d.update(blind_index_key=_b64(b"x" * 16)), "32 bytes"),
        (lambda d: d.update(blind_index_key="***"), "base64"),
        (lambda d: d.pop("blind_index_key"), "base64"),
        (lambda d: d.update(master_keys={d["active_id"]: _b64(b"x" * 31)}), "32 bytes"),
        (lambda d: d.update(active_id="a.b", master_keys={"a.b": _b64(b"x" * 32)}), "key id"),
    ],
)
def test_a_corrupt_file_is_reported_clearly(tmp_path: Path, change: object, message: str) -> None:
    document = _document(KeyRing.generate())
    change(document)  # type: ignore[operator]
    path = tmp_path / "k.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileCorrupt, match=message):
        KeyRing.load(path)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe"])
def test_a_file_that_is_not_a_json_object_is_corrupt(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "k.json"
    path.write_bytes(raw)
    with pytest.raises(KeyFileCorrupt):
        KeyRing.load(path)


def test_errors_and_repr_never_contain_key_material(tmp_path: Path) -> None:
    ring = KeyRing.generate()
    assert _b64(ring.active_key) not in repr(ring)
    assert ring.active_key.hex() not in repr(ring)
    document = _document(ring)
    document["active_id"] = "k-ffffffff"
    path = tmp_path / "k.json"
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileCorrupt) as info:
        KeyRing.load(path)
    assert _b64(ring.active_key) not in str(info.value)


def test_the_constructor_validates_its_arguments() -> None:
    key = b"k" * 32
    with pytest.raises(ValueError, match="32 bytes"):
        KeyRing({"k-1": b"short"}, "k-1", key)
    with pytest.raises(ValueError, match="not in the ring"):
        KeyRing({"k-1": key}, "k-2", key)
    with pytest.raises(ValueError, match="blind index key"):
        KeyRing({"k-1": key}, "k-1", b"")


def test_load_or_create_keeps_a_ring_another_process_created_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "keys.json"
    theirs = KeyRing.generate()
    real_generate = KeyRing.generate

    def generate_while_another_process_wins() -> KeyRing:
        theirs.save(path)  # lands between our existence check and our write
        return real_generate()

    monkeypatch.setattr(KeyRing, "generate", generate_while_another_process_wins)
    ours = KeyRing.load_or_create(path, allow_create=True)
    assert ours.active_key == theirs.active_key
    assert KeyRing.load(path).active_key == theirs.active_key


def test_exclusive_writes_never_replace_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_secret_file(path, b"first", overwrite=False)
    with pytest.raises(FileExistsError):
        write_secret_file(path, b"second", overwrite=False)
    assert path.read_bytes() == b"first"
    write_secret_file(path, b"third", overwrite=True)
    assert path.read_bytes() == b"third"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]
