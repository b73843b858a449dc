"""The kill loop's short version (``make chaos`` runs ten cycles): SIGKILL under ingestion
load with a download and a certificate renewal running, twice; nothing acknowledged is
lost or counted twice, no job is left running. Renewals need pebble (required under CI)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.kill_loop import kill_loop

pytestmark = pytest.mark.slow


async def test_sigkill_cycles_lose_nothing_and_leave_nothing_running(tmp_path: Path) -> None:
    result = await kill_loop(cycles=2, workdir=tmp_path)
    print("\n" + result.report())
    assert result.ok, result.problems
    assert result.acknowledged > 200
    assert result.counted == result.acknowledged == result.in_lago
    assert sum(result.failed_posts.values()) > 0, "the kills were felt by the clients"
    assert set(result.jobs) <= {"SUCCEEDED", "INTERRUPTED", "FAILED", "CANCELLED"}
    if result.no_acme is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{result.no_acme} (CI=true: run .ci/install-traffic.sh)")
        return
    assert sum(result.renewals.values()) == len(result.renewal_ids) == 2
    assert set(result.renewals) <= {"succeeded", "interrupted", "failed", "cancelled"}
