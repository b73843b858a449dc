"""The committed schema.graphql is exactly what `ops-gateway export-schema` prints."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_export_schema_equals_committed_file() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "export-schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    committed = (ROOT / "schema.graphql").read_text()
    assert result.stdout == committed, (
        "schema.graphql is out of date: run `make schema` (ops-gateway export-schema > schema.graphql)"
    )
