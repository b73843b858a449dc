"""How many of something each key holds now (a 429 held per subject, a websocket not yet
initialised per address). A key back at zero is forgotten, so memory follows what is held
now, not every key ever seen."""

from __future__ import annotations


class KeyedCount:
    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count: dict[str, int] = {}

    def __getitem__(self, key: str) -> int:
        return self._count.get(key, 0)

    def add(self, key: str) -> None:
        self._count[key] = self._count.get(key, 0) + 1

    def remove(self, key: str) -> None:
        """One fewer for ``key``, which must hold at least one."""
        left = self._count[key] - 1
        if left:
            self._count[key] = left
        else:
            del self._count[key]
