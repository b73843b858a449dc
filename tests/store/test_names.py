"""The table of persistent names: no name taken twice, none listed that nothing uses."""

from __future__ import annotations

import pathlib
import re

from gateway.store import names

GATEWAY = pathlib.Path(names.__file__).parents[1]


def _table() -> dict[str, str]:
    return {k: v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}


def _kind(constant: str) -> str:
    # A stream and the channel announcing it may share a name: they live in different places.
    for suffix in ("_CHANNEL", "_STREAM"):
        if constant.endswith(suffix):
            return suffix
    return "collection or counter"


def test_no_name_is_taken_twice_within_its_kind() -> None:
    seen: dict[tuple[str, str], str] = {}
    for constant, value in _table().items():
        key = (_kind(constant), value)
        assert key not in seen, f"{constant} and {seen[key]} both name {value!r}"
        seen[key] = constant


def test_every_name_is_used_by_the_gateway() -> None:
    sources = "\n".join(
        p.read_text() for p in GATEWAY.rglob("*.py") if p != pathlib.Path(names.__file__)
    )
    unused = [c for c in _table() if not re.search(rf"\bnames\.{c}\b", sources)]
    assert unused == []
