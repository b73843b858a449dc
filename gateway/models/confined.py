"""Symlinks may not lead the gateway out of the folders it manages.

The Hugging Face cache is made of links (``snapshots/<commit>/<file>`` -> ``../../blobs/…``)
and anyone who can write the cache (or the upload root) can plant one more that points at
``/etc`` or a home directory. huggingface_hub's deletion follows the first hop of each
snapshot link and unlinks the target, and ``upload_folder`` reads whatever a link points to.
So before deleting, uploading or reading, every link in the folders involved is resolved and
must stay inside the folder that owns it; otherwise the whole operation is refused and
nothing is touched (a tampered cache needs a human, not a best effort).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from huggingface_hub import DeleteCacheStrategy, HFCacheInfo

from gateway.models.failures import ModelsFailure, ModelsFailureCode


def within(path: Path, root: Path) -> bool:
    """Whether ``path``, with every link on the way resolved, is ``root`` or under it."""
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError, ValueError):  # a loop, a name the OS refuses
        return False


def links_out(folder: Path, root: Path, *, allow_linked_dirs: bool = True) -> str | None:
    """The first entry under ``folder`` (relative, POSIX) that is a link leading outside
    ``root`` — or, without ``allow_linked_dirs``, any linked folder — else ``None``.
    Links are not followed while walking, so a linked folder is checked, never entered."""
    for current, dirs, files in os.walk(folder, followlinks=False):
        base = Path(current)
        for name in [*dirs, *files]:
            entry = base / name
            if not entry.is_symlink():
                continue
            linked_dir = name in dirs
            if (linked_dir and not allow_linked_dirs) or not within(entry, root):
                return entry.relative_to(folder).as_posix()
    return None


def check_deletion(info: HFCacheInfo, strategy: DeleteCacheStrategy, root: Path) -> None:
    """Raise :class:`ModelsFailure` (CONFLICT) unless everything ``strategy`` would delete,
    and every link in the repos it touches, stays inside the cache ``root``."""
    real_root = root.resolve()
    touched = _repos_touched(info, strategy)
    for repo_path in touched:
        if repo_path.is_symlink() or repo_path.parent.resolve() != real_root:
            _refuse(repo_path.name, "is a link")
        found = links_out(repo_path, real_root)
        if found is not None:
            _refuse(repo_path.name, f"holds {found}, a link that leads out of the cache")
    for path in _paths(strategy):
        # The entry itself may be a link (os.remove drops the link only); where it sits may not.
        if not within(path.parent, real_root):
            _refuse(path.name, "sits behind a link that leads out of the cache")


def _repos_touched(info: HFCacheInfo, strategy: DeleteCacheStrategy) -> set[Path]:
    paths = set(_paths(strategy))
    touched: set[Path] = set()
    for repo in info.repos:
        if repo.repo_path in paths or any(repo.repo_path in p.parents for p in paths):
            touched.add(repo.repo_path)
    return touched


def _paths(strategy: DeleteCacheStrategy) -> Iterable[Path]:
    yield from strategy.repos
    yield from strategy.snapshots
    yield from strategy.refs
    yield from strategy.blobs
    yield from getattr(strategy, "files", ())


def _refuse(what: str, why: str) -> None:
    raise ModelsFailure(
        ModelsFailureCode.CONFLICT,
        f"refusing to delete: {what} {why}, which would leave the cache; nothing was "
        "deleted. Inspect the cache folder and remove the entry by hand",
        field="id",
    )
