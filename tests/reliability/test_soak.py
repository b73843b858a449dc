"""The soak's short version (``make soak`` runs 200 clients for 60 s on 1 and 2 workers):
a served gateway under a mixed load with live subscribers on both protocols."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import run

pytestmark = pytest.mark.slow


def test_a_short_soak_answers_everything_and_leaks_nothing(tmp_path: Path) -> None:
    result = run(
        workers=1, clients=24, seconds=6, warmup=3, subscribers=4, redis_url=None, workdir=tmp_path
    )
    print("\n" + result.row())
    assert result.tally.requests > 100
    assert result.tally.errors == 0, result.tally.samples
    assert result.missed == 0, "every live event reached every subscriber"
    assert result.tally.live_sent, "live events were sent"
    start, end = result.fds
    assert end.files <= start.files, f"files left open: {start} -> {end}"
    assert end.accepted <= start.accepted, f"client connections left open: {start} -> {end}"
    assert result.growth < 0.10, f"RSS {result.rss}"
    assert result.ok
