"""The fault matrix's two backends that only mutations reach (see bench/chaos.py): an LLM
provider (``testProvider`` calls its model list at once) and the ACME CA
(``renewCertificate`` starts a job that orders from it).

Their failures are data, not GraphQL errors: ``testProvider`` answers ``ok: false`` with a
typed ``error.code``, and a renewal job ends ``failed`` with ``error.code`` in the
``BACKEND_*`` family. Each cell also sends the dashboard query while the fault stands:
every domain must answer exactly as without the fault.

The CA is pebble (Let's Encrypt's test server) behind :class:`AcmeDirectory`, a sandbox
that serves pebble's directory with the sandboxes' fault knobs: each fault hits the first
call of every order; the rest of the order talks to pebble itself.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.chaos_cells import (
    BACKENDS,
    CODES,
    TIMEOUT,
    CellResult,
    answer_problems,
    dashboard,
)
from gateway.sandbox.base import Sandbox

if TYPE_CHECKING:
    from bench.chaos import Rig

TEST = """mutation($id: ID!, $t: Float) { testProvider(id: $id, timeoutSeconds: $t) {
  ... on ProviderTestResult { ok error { code } }
  ... on ProviderError { code message } } }"""
PROVIDER = "{ providers { list(kind: OPENAI, first: 1) { nodes { id } } } }"
RENEW = """mutation($d: String!) { renewCertificate(domain: $d) {
  ... on RenewalJob { id } ... on TrafficError { code message } } }"""
JOB = """query($id: ID!) { traffic { renewal(jobId: $id) {
  state error { code message } progress { attempt code error } } } }"""
DOMAIN = "grafana.example.com"
RENEWAL_ATTEMPTS = 3
"""The renewer's attempts at a transient failure (gateway/traffic/renewal.py)."""


class AcmeDirectory(Sandbox):
    """Pebble's directory (``/dir``) served over HTTP with fault knobs."""

    def __init__(self, *, upstream: str, ca_bundle: str) -> None:
        trust = ssl.create_default_context(cafile=ca_bundle)

        async def directory(request: Request) -> Response:
            async with httpx.AsyncClient(verify=trust, timeout=10) as client:
                answer = await client.get(upstream)
            return Response(answer.content, answer.status_code, media_type="application/json")

        super().__init__(Starlette(routes=[Route("/dir", directory)]))


@dataclass(frozen=True, slots=True)
class MutationBackend:
    sandbox: str
    run: Callable[[Rig], tuple[int, str, list[str], bool, float]]
    """(HTTP status, response text, codes, succeeded, seconds) for one attempt."""
    bound: float
    """The longest a failing cell may take (seconds)."""


def _provider_test(rig: Rig) -> tuple[int, str, list[str], bool, float]:
    _, body, _, _ = rig.query(PROVIDER)
    [node] = body["data"]["providers"]["list"]["nodes"]
    started = time.perf_counter()
    response = rig.client.post(
        "/graphql", json={"query": TEST, "variables": {"id": node["id"], "t": TIMEOUT}}
    )
    seconds = time.perf_counter() - started
    result = (_json(response).get("data") or {}).get("testProvider") or {}
    error = result.get("error") or {}
    codes = [c for c in (error.get("code"), result.get("code")) if c]
    return response.status_code, response.text, codes, result.get("ok") is True, seconds


def _renewal(rig: Rig) -> tuple[int, str, list[str], bool, float]:
    started = time.perf_counter()
    response = rig.client.post("/graphql", json={"query": RENEW, "variables": {"d": DOMAIN}})
    job = (_json(response).get("data") or {}).get("renewCertificate") or {}
    if "id" not in job:
        return response.status_code, response.text, [str(job.get("code"))], False, 0.0
    texts = [response.text]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = rig.client.post("/graphql", json={"query": JOB, "variables": {"id": job["id"]}})
        texts.append(answer.text)
        renewal = _json(answer)["data"]["traffic"]["renewal"]
        if renewal["state"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    codes = [str((renewal.get("error") or {}).get("code"))] if renewal.get("error") else []
    codes += [str(p["code"]) for p in renewal["progress"] if p.get("code")]
    if renewal["state"] in ("queued", "running"):
        codes.append(f"still {renewal['state']} after 60 s")
    return answer.status_code, "\n".join(texts), codes, renewal["state"] == "succeeded", seconds


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError:
        return {}


MUTATION_BACKENDS: dict[str, MutationBackend] = {
    "provider": MutationBackend("providers", _provider_test, bound=TIMEOUT * 1.5 + 0.5),
    # Transient faults are retried (3 attempts, backoff 0.5 s doubling): the job's bound is
    # its attempts' timeouts and backoffs, each attempt bounded by the timeout.
    "acme": MutationBackend("acme", _renewal, bound=RENEWAL_ATTEMPTS * (TIMEOUT * 1.5) + 2.5),
}


def run_cell(rig: Rig, backend: str, fault: str, baseline: dict[str, Any]) -> CellResult:
    """One cell: the mutation under the standing fault, then the dashboard beside it."""
    spec = MUTATION_BACKENDS[backend]
    status, text, codes, succeeded, seconds = spec.run(rig)
    _, body, _, _ = rig.query(dashboard(dict.fromkeys(BACKENDS, 0)))
    intact = body.get("data") == baseline and not body.get("errors")
    problems = answer_problems(status, text)
    if not intact:
        problems.append("other domains differ from the fault-free answer")
    if fault.startswith("slow"):
        if not succeeded:
            problems.append(f"failed although the backend answered in time: {codes}")
    else:
        if succeeded:
            problems.append("succeeded under the fault")
        if not codes:
            problems.append("no code for the failure")
        if backend == "acme" and any(c not in CODES for c in codes):
            problems.append(f"codes {codes}: not BACKEND_*")
        if seconds > spec.bound:
            problems.append(f"{seconds:.2f} s: more than its bound ({spec.bound:g} s)")
    return CellResult(backend, fault, status, codes, seconds, intact, problems)
