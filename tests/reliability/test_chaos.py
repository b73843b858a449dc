"""The backend fault matrix's short version (``make chaos`` runs all of it): every backend
under the faults that found defects before, through real HTTP, judged as the full run is.
The ACME column needs pebble: without it that column is left out (a failure under CI)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.chaos import Rig, run_breakers, run_matrix
from bench.chaos_cells import BACKENDS
from bench.chaos_mutations import MUTATION_BACKENDS

pytestmark = pytest.mark.slow
FAULTS = ["hang past the timeout", "500", "502 with an HTML body", "JSON of the wrong shape"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with Rig(Path(tmp_path_factory.mktemp("chaos"))).running() as running:
        yield running


def test_each_backend_fault_degrades_only_its_own_fields(rig: Rig) -> None:
    if "acme" in rig.missing and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{rig.missing['acme']} (CI=true: run .ci/install-traffic.sh)")
    cells = run_matrix(rig, faults=FAULTS)
    expected = {*BACKENDS, *MUTATION_BACKENDS} - set(rig.missing)
    assert {c.backend for c in cells} == expected, "every sandbox took part"
    broken = [f"{c.backend}/{c.fault}: {c.problems}" for c in cells if not c.ok]
    assert not broken, broken


def test_breakers_open_under_a_standing_failure_and_close_after_it(rig: Rig) -> None:
    results = run_breakers(rig, backends=["lago", "docker"])
    assert all(r.ok for r in results), [r.row() for r in results]
    assert all(r.recovered_in < 10 for r in results)
