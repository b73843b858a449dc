"""Modules stay small (issue 15): none in gateway/ or schema/ over 300 lines, so each holds
one noun a newcomer can read at once. A module that grows past it is split by what it holds."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 300


def test_no_module_in_gateway_or_schema_is_over_300_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text().splitlines())
        for package in ("gateway", "schema")
        for path in (ROOT / package).rglob("*.py")
    }
    assert len(sizes) > 100, "the packages were found"
    too_long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not too_long, too_long
