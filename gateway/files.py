"""Atomic file writes: a temp file in the same directory, fsync, then rename (or link), fsync
the directory.

Readers (Traefik's file watcher, a second gateway, huggingface_hub) see the old file or the
new one, never a half-written one. Temp files start with a dot and end in ``.tmp``, which
Traefik's file provider ignores (it loads only .yml/.yaml/.toml).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data``."""
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_create(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Create ``path`` with ``data`` unless it exists; return False if it did.

    The temp file is hard-linked into place: a link never replaces an existing file, so two
    processes creating the same file at once agree on one content.
    """
    tmp = _write_temp(path, data, mode)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        _unlink(tmp)
    fsync_dir(path.parent)
    return True


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


def fsync_dir(directory: Path) -> None:
    """Make a new directory entry (a rename, a link) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_temp(path: Path, data: bytes, mode: int) -> str:
    """A temp file next to ``path`` holding ``data``, flushed to disk; its name is unique."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)  # before any byte lands: secrets never sit at 0644
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(tmp: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)
