"""The local Hugging Face cache (``HF_HUB_CACHE``): what is there, how much room is left,
and removing revisions — through huggingface_hub's own cache tools, in a worker thread."""

from __future__ import annotations

import asyncio
import json
import shutil
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import constants, scan_cache_dir
from huggingface_hub.errors import CacheNotFound

from gateway.files import atomic_write
from gateway.models.confined import check_deletion, links_out, within
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.ids import COMMIT

RESERVE_BYTES = 64 * 2**20
"""Left free on the disk after a download, so the cache never fills it to the last byte."""


@dataclass(frozen=True, slots=True)
class CachedRevision:
    commit: str
    refs: tuple[str, ...]
    size: int
    files: tuple[tuple[str, int], ...]
    """(path in the repo, bytes)"""
    last_modified: float


@dataclass(frozen=True, slots=True)
class CachedModel:
    repo_id: str
    size: int
    nb_files: int
    revisions: tuple[CachedRevision, ...]
    """Newest first."""
    last_accessed: float
    last_modified: float

    def revision(self, wanted: str | None = None) -> CachedRevision | None:
        """A commit, a ref (``main``), or by default ``main``'s commit or else the newest."""
        if wanted is None:
            main = next((r for r in self.revisions if "main" in r.refs), None)
            return main or (self.revisions[0] if self.revisions else None)
        if COMMIT.fullmatch(wanted):
            return next((r for r in self.revisions if r.commit == wanted), None)
        return next((r for r in self.revisions if wanted in r.refs), None)


class LocalCache:
    def __init__(self, *, root: str | Path | None, executor: Executor) -> None:
        # huggingface_hub's default (HF_HUB_CACHE as it read it at import) when unset.
        self.root = Path(root or constants.HF_HUB_CACHE).expanduser()
        self._executor = executor

    async def scan(self) -> list[CachedModel]:
        return await self._thread(self._scan)

    async def get(self, repo_id: str) -> CachedModel | None:
        return next((m for m in await self.scan() if m.repo_id == repo_id), None)

    async def delete(self, commits: list[str]) -> int:
        """Remove these revisions (and blobs nothing else uses); return the bytes freed.

        Refused as a whole (:func:`~gateway.models.confined.check_deletion`) when a link in
        the repo would take the deletion out of the cache."""

        def run() -> int:
            info = scan_cache_dir(self.root)
            strategy = info.delete_revisions(*commits)
            check_deletion(info, strategy, self.root)
            freed = strategy.expected_freed_size
            strategy.execute()
            return int(freed)

        return await self._thread(run)

    def storage_dir(self, repo_id: str) -> Path:
        return self.root / ("models--" + repo_id.replace("/", "--"))

    def snapshot(self, repo_id: str, commit: str) -> Path:
        return self.storage_dir(repo_id) / "snapshots" / commit

    def has_file(self, repo_id: str, commit: str, path: str) -> bool:
        return (self.snapshot(repo_id, commit) / path).is_file()

    def write_ref(self, repo_id: str, ref: str, commit: str) -> None:
        """What snapshot_download records for a branch or tag: ``refs/<ref>`` -> commit."""
        self.check_confined(repo_id)
        target = self.storage_dir(repo_id) / "refs" / ref
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_symlink() or not within(target.parent, self.root):
            raise ModelsFailure(
                ModelsFailureCode.CONFLICT, f"refs/{ref} of {repo_id} leads out of the cache"
            )
        atomic_write(target, commit.encode())

    def check_confined(self, repo_id: str) -> None:
        """Raise :class:`ModelsFailure` (CONFLICT) if the repo's folder is, or holds, a link
        leading out of the cache: huggingface_hub would write its blobs or snapshots there."""
        folder = self.storage_dir(repo_id)
        if not folder.exists() and not folder.is_symlink():
            return
        found = folder.name if folder.is_symlink() else links_out(folder, self.root)
        if found is not None:
            raise ModelsFailure(
                ModelsFailureCode.CONFLICT,
                f"{repo_id}: {found} in the cache is a link that leads out of it; refusing to "
                "write there. Inspect the cache folder and remove the link by hand",
                field="repoId",
            )

    def free_bytes(self) -> int:
        probe = self.root
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        return shutil.disk_usage(probe).free

    def check_space(self, needed: int) -> None:
        free = self.free_bytes()
        if needed + RESERVE_BYTES > free:
            raise ModelsFailure(
                ModelsFailureCode.INSUFFICIENT_DISK,
                f"not enough disk space in {self.root}: the download needs {_size(needed)}, "
                f"{_size(free)} is free ({_size(RESERVE_BYTES)} is kept in reserve)",
            )

    async def config(self, repo_id: str, commit: str) -> dict[str, Any] | None:
        """The revision's ``config.json``, if it was downloaded (never through a link that
        leads out of the cache)."""

        def run() -> dict[str, Any] | None:
            path = self.snapshot(repo_id, commit) / "config.json"
            if not within(path, self.root):
                return None
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
            return data if isinstance(data, dict) else None

        return await self._thread(run)

    async def _thread(self, fn: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _scan(self) -> list[CachedModel]:
        try:
            info = scan_cache_dir(self.root)
        except CacheNotFound:
            return []
        models = []
        for repo in info.repos:
            if repo.repo_type != "model":
                continue
            revisions = sorted(
                (
                    CachedRevision(
                        commit=rev.commit_hash,
                        refs=tuple(sorted(rev.refs)),
                        size=rev.size_on_disk,
                        files=tuple(
                            sorted(
                                (
                                    f.file_path.relative_to(rev.snapshot_path).as_posix(),
                                    f.size_on_disk,
                                )
                                for f in rev.files
                            )
                        ),
                        last_modified=rev.last_modified,
                    )
                    for rev in repo.revisions
                ),
                key=lambda r: (r.last_modified, r.commit),
                reverse=True,
            )
            models.append(
                CachedModel(
                    repo_id=repo.repo_id,
                    size=repo.size_on_disk,
                    nb_files=repo.nb_files,
                    revisions=tuple(revisions),
                    last_accessed=repo.last_accessed,
                    last_modified=repo.last_modified,
                )
            )
        return sorted(models, key=lambda m: m.repo_id.lower())


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"
