"""Kill loops (issue 13, part 4), run by ``make chaos`` after the fault matrix.

One ``ops-gateway serve`` on a SQLite store, the Lago and Hub sandboxes in this process,
and pebble (the ACME test server) behind a directory that answers after 1 s when pebble is
installed. An ingestion load runs throughout (every batch retried with the same ids until
acknowledged) while, each cycle, a model download and a certificate renewal are started
and the server is SIGKILLed and started again. Afterwards: every acknowledged event is
counted once by ``usage { overview }`` and held once by Lago (receipts per
``transaction_id`` counted), and no download or renewal is left "running" by a process
that no longer exists.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.cluster import Cluster
from bench.ingest_load import IngestLoad
from bench.reliability import write_section
from gateway.sandbox.acme_seed import CERTIFICATES

TITLE = "Kill loops (`make chaos`)"
DOWNLOAD = """mutation($repo: String!) { downloadModel(input: {repoId: $repo}) {
  ... on DownloadJob { id state } ... on ModelsError { code message } } }"""
JOBS = "{ models { downloads(first: 100) { nodes { id state } } } }"
RENEW = """mutation($d: String!) { renewCertificate(domain: $d) {
  ... on RenewalJob { id state } ... on TrafficError { code message } } }"""
RENEWALS = "{ traffic { renewals(first: 100) { id state } } }"
OVERVIEW = "{ usage { overview(days: 1) { requests billing { backlog } } } }"
REPOS = ("acme/mini-bert", "acme/embed-small", "acme/tiny-llama-1b-GGUF")


@dataclass
class KillLoopResult:
    cycles: int
    acknowledged: int = 0
    counted: int = 0
    in_lago: int = 0
    resent: int = 0
    failed_posts: dict[str, int] = field(default_factory=dict)
    jobs: dict[str, int] = field(default_factory=dict)
    renewals: dict[str, int] = field(default_factory=dict)
    renewal_ids: set[str] = field(default_factory=set)
    """Jobs the renewal mutations answered with (one still active for a domain is reused)."""
    no_acme: str | None = None
    """Why no renewals ran (pebble not installed)."""
    restart_seconds: list[float] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        restart = max(self.restart_seconds, default=0.0)
        lines = [
            f"{self.cycles} cycles of: a model download and a certificate renewal started, "
            "the server SIGKILLed under a steady ingestion load (4 posters, batches of 20, "
            "each retried with the same ids until acknowledged), started again. SQLite store; "
            "Lago and Hub sandboxes; pebble behind a directory answering after 1 s, so each "
            "renewal is running at the kill. A download or renewal asked for while one is "
            "still active for the same repository or domain (its killed runner not yet "
            "declared gone) answers with that job, so there are fewer jobs than cycles. "
            "Re-sent: a batch Lago had taken when the kill came, before the outbox recorded "
            "it as delivered, goes again after the restart with the same transaction_id "
            "(Lago's idempotency key), so Lago holds each event once; recording first would "
            "lose the batch instead.",
            "",
            "| cycles | events acknowledged | counted by overview | held by Lago | re-sent "
            "to Lago (same transaction_id) | POSTs failed and retried | downloads after "
            "the loop | renewals after the loop | slowest restart |",
            "|---:|---:|---:|---:|---:|---|---|---|---:|",
            f"| {self.cycles} | {self.acknowledged:,} | {self.counted:,} | {self.in_lago:,} "
            f"| {self.resent} | {_fmt(self.failed_posts)} | {_fmt(self.jobs)} "
            f"| {(self.no_acme and 'not run') or _fmt(self.renewals)} | {restart:.1f} s |",
        ]
        if self.no_acme:
            lines += ["", f"No renewals: {self.no_acme}."]
        if self.problems:
            lines += ["", "Broken expectations:", "", *(f"- {p}" for p in self.problems)]
        return "\n".join(lines)


def _fmt(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"


async def _gql(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=15) as client:
        response = await client.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{response.status_code}: {body}")
    return body["data"]


async def kill_loop(*, cycles: int, workdir: Path) -> KillLoopResult:
    from cryptography.fernet import Fernet

    from gateway.sandbox.base import serve_in_thread
    from gateway.sandbox.hub import HubSandbox
    from gateway.sandbox.lago import LagoSandbox

    result = KillLoopResult(cycles=cycles)
    stack = ExitStack()
    acme_env = _acme(stack, workdir, result)
    lago, hub = LagoSandbox(customers=5), HubSandbox()
    lago_url, stop_lago = serve_in_thread(lago, grace=0.2)
    hub_url, stop_hub = serve_in_thread(hub, grace=0.2)
    hub.latency = 0.3  # downloads last long enough to be running at the kill
    env = {
        "GATEWAY_STORE": f"sqlite:///{workdir / 'gateway.db'}",
        "GATEWAY_DATA_DIR": str(workdir / "data"),
        "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
        "GATEWAY_RATE_PER_SECOND": "100000",
        "GATEWAY_RATE_BURST": "100000",
        "LAGO_API_URL": lago_url,
        "LAGO_API_KEY": lago.api_key,
        "HF_ENDPOINT": hub_url,
        "HF_TOKEN": hub.token,
        "HF_HUB_CACHE": str(workdir / "hf-cache"),
        **acme_env,
    }
    try:
        async with Cluster(env=env, workdir=workdir, size=1, balanced=False) as cluster:
            server = cluster.replicas[0]
            out = await cluster.cli("token", "create", "--subject", "kill", "--role", "admin")
            token = out.strip()
            async with IngestLoad(server.url, token, tag="kill") as load:
                for cycle in range(cycles):
                    before = len(load.acknowledged)
                    await _until(lambda b=before: len(load.acknowledged) >= b + 100, 30)
                    repo = REPOS[cycle % len(REPOS)]
                    await _gql(server.url, token, DOWNLOAD, repo=repo)
                    if acme_env:
                        domain = CERTIFICATES[cycle % len(CERTIFICATES)][0]
                        renewal = await _gql(server.url, token, RENEW, d=domain)
                        result.renewal_ids.add(renewal["renewCertificate"]["id"])
                    await asyncio.sleep(0.5)
                    cluster.kill(server)
                    started = time.monotonic()
                    await cluster.start(server)
                    result.restart_seconds.append(time.monotonic() - started)
                await _until(lambda: len(load.acknowledged) >= before + 200, 30)
            await _settle(server.url, token, lago, load, result)
    finally:
        stop_hub()
        stop_lago()
        stack.close()
    return result


def _acme(stack: ExitStack, workdir: Path, result: KillLoopResult) -> dict[str, str]:
    """Pebble behind a slow directory, and the settings for it; {} without pebble."""
    from bench.chaos_mutations import AcmeDirectory
    from gateway.sandbox.acme_seed import write_acme_json
    from gateway.sandbox.base import serve_in_thread
    from gateway.sandbox.pebble import PebbleMissing, pebble_server

    try:
        pebble = stack.enter_context(pebble_server())
    except PebbleMissing as exc:
        result.no_acme = str(exc)
        return {}
    directory = AcmeDirectory(upstream=pebble.directory_url, ca_bundle=pebble.ca_bundle)
    directory.latency = 1.0  # each order's first call: the renewal is running at the kill
    url, stop = serve_in_thread(directory, grace=0.2)
    stack.callback(stop)
    return {
        "ACME_DIRECTORY_URL": f"{url}/dir",
        "ACME_CA_BUNDLE": pebble.ca_bundle,
        "TRAEFIK_ACME_JSON": str(write_acme_json(workdir / "acme.json")),
    }


async def _until(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not within {within:g} s")
        await asyncio.sleep(0.05)


async def _settle(url: str, token: str, lago: Any, load: IngestLoad, r: KillLoopResult) -> None:
    r.acknowledged = len(load.acknowledged)
    r.failed_posts = dict(load.failures)
    deadline = time.monotonic() + 60  # a killed sender's lease expires after 15 s
    while True:
        overview = (await _gql(url, token, OVERVIEW))["usage"]["overview"]
        r.counted = overview["requests"]
        if overview["billing"]["backlog"] == 0 and r.counted >= r.acknowledged:
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    receipts = lago.receipts
    r.in_lago = len(lago.events)
    r.resent = sum(1 for n in receipts.values() if n > 1)
    if r.counted != r.acknowledged:
        r.problems.append(f"overview counts {r.counted}, {r.acknowledged} acknowledged")
    if set(receipts) != load.acknowledged:
        missing = len(load.acknowledged - set(receipts))
        extra = len(set(receipts) - load.acknowledged)
        r.problems.append(f"Lago: {missing} acknowledged events missing, {extra} unknown")
    # A killed process's jobs are marked interrupted once its liveness entry has expired
    # (20 s) and a live runner sweeps: they may read "running" until then, never after.
    deadline = time.monotonic() + 45
    while True:
        nodes = (await _gql(url, token, JOBS))["models"]["downloads"]["nodes"]
        if not any(n["state"] in ("RUNNING", "QUEUED") for n in nodes):
            break
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    for node in nodes:
        r.jobs[node["state"]] = r.jobs.get(node["state"], 0) + 1
    stuck = [n for n in nodes if n["state"] in ("RUNNING", "QUEUED")]
    if stuck:
        r.problems.append(f"downloads left running by a killed process: {stuck}")
    if r.no_acme is None:
        await _settle_renewals(url, token, r)
    if any(b for b in load.bodies if "Traceback" in b):
        r.problems.append("a traceback in an answer")


async def _settle_renewals(url: str, token: str, r: KillLoopResult) -> None:
    """Every renewal ends (resumed to an end, failed, or interrupted), none stays running."""
    deadline = time.monotonic() + 45
    while True:
        jobs = (await _gql(url, token, RENEWALS))["traffic"]["renewals"]
        if not any(j["state"] in ("running", "queued") for j in jobs) or (
            time.monotonic() > deadline
        ):
            break
        await asyncio.sleep(0.5)
    for job in jobs:
        r.renewals[job["state"]] = r.renewals.get(job["state"], 0) + 1
    missing = r.renewal_ids - {j["id"] for j in jobs}
    if missing:
        r.problems.append(f"renewal jobs answered but not listed: {sorted(missing)}")
    stuck = [j for j in jobs if j["state"] in ("running", "queued")]
    if stuck:
        r.problems.append(f"renewals left running by a killed process: {stuck}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kill_loop", description=__doc__)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ogw-kill-") as tmp:
        result = asyncio.run(kill_loop(cycles=args.cycles, workdir=Path(tmp)))
    text = result.report()
    print(text)
    if not args.no_write:
        write_section(TITLE, text)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
