"""Atomic file replacement: a temp file in the same directory, fsync, rename, fsync the dir.

Readers (Traefik's file watcher, a second gateway) see the old file or the new one, never a
half-written one. Temp files start with a dot and end in ``.tmp``, which Traefik's file
provider ignores (it loads only .yml/.yaml/.toml).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    fd, tmp = _temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # before any byte lands: secrets never sit at 0644
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def backup(path: Path, *, keep: int = 5) -> Path | None:
    """Copy ``path`` to ``<name>.bak-<UTC time>`` with the same mode; keep the newest ``keep``."""
    if not path.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.bak-{stamp}-{time.time_ns() % 1_000_000:06d}")
    mode = path.stat().st_mode & 0o777
    atomic_write(target, path.read_bytes(), mode=mode)
    backups = sorted(path.parent.glob(f"{path.name}.bak-*"))
    for old in backups[:-keep]:
        with contextlib.suppress(FileNotFoundError):
            old.unlink()
    return target


def _temp(path: Path) -> tuple[int, str]:
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
