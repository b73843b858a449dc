"""Download progress: a thread-safe tally fed by huggingface_hub's progress bars.

huggingface_hub reports bytes through a tqdm-like object (``tqdm_class``); :class:`FileBar`
is that object for one file. It feeds :class:`Progress`, which the job's event-loop side reads
a few times a second, so worker threads never touch the loop. A bar also checks the job's
cancel flag on every update: cancelling stops a download at its next chunk.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

RATE_WINDOW = 5.0  # seconds of history behind the transfer rate


class DownloadCancelled(Exception):
    """Raised inside a worker thread to abandon a file (the library removes its temp file)."""


class Progress:
    def __init__(
        self,
        *,
        files: list[tuple[str, int | None]],
        cached: set[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._sizes = dict(files)
        self._counted: dict[str, int] = {}  # bytes seen per file still in flight
        self.files_total = len(files)
        self.bytes_total = sum(s or 0 for s in self._sizes.values())
        self.files_done = len(cached)
        self.bytes_done = sum(self._sizes.get(p) or 0 for p in cached)
        self.transferred = 0  # by this run, for the rate
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])
        self._current: list[str] = []

    def start(self, path: str) -> None:
        with self._lock:
            self._current.append(path)
            self._counted[path] = 0

    def add(self, path: str, n: int) -> None:
        with self._lock:
            self._counted[path] = self._counted.get(path, 0) + n
            self.bytes_done += n
            self.transferred += n

    def finish(self, path: str) -> None:
        """The file is in the cache: count exactly its size, whatever the bars said."""
        with self._lock:
            counted = self._counted.pop(path, 0)
            size = self._sizes.get(path) or counted
            self.bytes_done += size - counted
            self.transferred += size - counted
            self.files_done += 1
            if path in self._current:
                self._current.remove(path)

    def abandon(self, path: str) -> None:
        with self._lock:
            self.bytes_done -= self._counted.pop(path, 0)
            if path in self._current:
                self._current.remove(path)

    def snapshot(self, **extra: Any) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            self._samples.append((now, self.transferred))
            while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
                self._samples.popleft()
            since, before = self._samples[0]
            rate = (self.transferred - before) / (now - since) if now > since else 0.0
            remaining = max(0, self.bytes_total - self.bytes_done)
            eta = remaining / rate if rate > 0 else None
            return {
                "bytes_done": self.bytes_done,
                "bytes_total": self.bytes_total,
                "files_done": self.files_done,
                "files_total": self.files_total,
                "current_files": list(self._current[:8]),
                "rate": round(rate, 1),
                "eta_seconds": round(eta, 1) if eta is not None else None,
                **extra,
            }


class FileBar:
    """The ``tqdm_class`` for one file: ``functools.partial(FileBar, progress, path, flag)``;
    huggingface_hub adds ``total``, ``desc`` and friends, which are not needed here."""

    def __init__(self, progress: Progress, path: str, cancelled: threading.Event, **_: Any) -> None:
        self._progress = progress
        self._path = path
        self._cancelled = cancelled
        self.n = 0

    def __enter__(self) -> FileBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def update(self, n: int | float | None = 1) -> None:
        if self._cancelled.is_set():
            raise DownloadCancelled(self._path)
        step = int(n or 0)
        self.n += step
        self._progress.add(self._path, step)

    def close(self) -> None:
        return None

    def refresh(self, *args: Any, **kwargs: Any) -> None:
        return None

    def set_postfix_str(self, *args: Any, **kwargs: Any) -> None:
        return None
