"""Writing secret files: atomically, readable by the owner only.

A reader never sees a half-written key file (temp file in the same directory, then a rename),
and the file is 0600 from the moment it exists (`mkstemp` creates it so).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


class KeyFileMissing(FileNotFoundError):
    """A key file is absent and may not be created here (production must provide it)."""


class KeyFileCorrupt(ValueError):
    """A key file exists but cannot be used; the message never contains key material."""


def write_secret_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write `data` to `path` with mode 0600.

    With `overwrite=False` the file is published with a hard link, which fails with
    `FileExistsError` when another process created `path` first, so two processes starting at
    once cannot each keep a different freshly generated key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.chmod(0o600)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    _fsync_directory(path.parent)


def read_secret_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileMissing(f"key file {path} does not exist") from None


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable; not every platform can open a directory, hence best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
