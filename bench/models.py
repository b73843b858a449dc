"""Issue 4: the ``models`` query over the fake Hub (huggingface_hub in worker threads) and a
download job end to end — throughput, latency, Hub calls per query, download time."""

from __future__ import annotations

import json
import time
from typing import Any

from bench.context import Context
from bench.registry import Section, benchmark
from bench.scenarios import HttpScenario, load, post, probe, require_every_leaf

MODELS_QUERY = """\
query Models {
  models {
    search(query: "tiny-llama", limit: 10) { id downloads quantizations { format variant } }
    local { id size fileCount quantizations { format variant } }
    quantizations { format }
  }
}"""

MODELS = HttpScenario(
    name="models",
    title="gateway `models` (Hub search + local cache + catalogue)",
    target="gateway",
    query=MODELS_QUERY,
    validate=require_every_leaf(MODELS_QUERY),
)
DOWNLOAD = """mutation($repo: String!) { downloadModel(input: {repoId: $repo}) {
  ... on DownloadJob { id } ... on ModelsError { code message } } }"""
JOB = """query($id: ID!) { models { download(id: $id) { state progress { filesTotal bytesTotal }
  error { code message } } } }"""


def _gql(port: int, headers: dict[str, str], query: str, variables: dict[str, Any]) -> Any:
    status, body = post(
        port, "/graphql", json.dumps({"query": query, "variables": variables}), headers
    )
    if status != 200:
        raise RuntimeError(f"models: {status}: {body[:300]!r}")
    return json.loads(body)["data"]


def _download(port: int, headers: dict[str, str], repo: str) -> tuple[float, dict[str, Any]]:
    """Seconds from the mutation to the job's end, and the job."""
    started = time.perf_counter()
    job = _gql(port, headers, DOWNLOAD, {"repo": repo})["downloadModel"]
    if "id" not in job:
        raise RuntimeError(f"models: download refused: {job}")
    while True:
        state = _gql(port, headers, JOB, {"id": job["id"]})["models"]["download"]
        if state["state"] not in ("QUEUED", "RUNNING"):
            if state["state"] != "SUCCEEDED":
                raise RuntimeError(f"models: download ended {state}")
            return time.perf_counter() - started, state
        time.sleep(0.005)


@benchmark("models", "Models: `models { search local }` over the fake Hub, and a download")
def models(ctx: Context) -> Section:
    from gateway.sandbox.hub import HubSandbox

    hub = HubSandbox()
    url = ctx.serve_sandbox(hub)
    cache = ctx.tmp / "hf-cache"
    gateway = ctx.start_gateway("gateway-models", HF_ENDPOINT=url, HF_HUB_CACHE=str(cache))
    server, headers = gateway.server, gateway.headers
    seconds, job = _download(server.port, headers, "acme/tiny-llama-1b")
    _download(server.port, headers, "acme/tiny-llama-1b-GGUF")

    hub.reset_counts()
    body = probe(server, MODELS, headers)
    calls_one = hub.total
    before = hub.total
    result = load(ctx, MODELS, server, headers, body)
    print(result.line(), flush=True)
    requests = result.requests + result.warmup_requests
    per_query = (hub.total - before) / requests if requests else 0.0
    progress = job["progress"]
    markdown = "\n".join(
        [
            f"Query: {MODELS.title}, {ctx.options.concurrency} connections, "
            f"{ctx.options.duration:g} s measured.",
            "",
            "| figure | value |",
            "|---|---|",
            f"| requests/s | {result.rps:.0f} |",
            f"| latency p50 / p99 under load | {result.p(50) * 1e3:.1f} / "
            f"{result.p(99) * 1e3:.1f} ms |",
            f"| errors | {result.errors} |",
            f"| Hub calls for one query | {calls_one} |",
            f"| Hub calls per query under load | {per_query:.2f} |",
            f"| download job, {progress['filesTotal']} files / {progress['bytesTotal']} bytes, "
            f"mutation to SUCCEEDED | {seconds * 1e3:.0f} ms |",
        ]
    )
    figures = {
        "models_rps": round(result.rps, 1),
        "models_p99_ms": round(result.p(99) * 1e3, 2),
        "models_hub_calls_per_query": round(per_query, 3),
        "models_download_ms": round(seconds * 1e3, 1),
    }
    return Section(title="Models: Hub search, local cache and downloads (issue 4)",
                   markdown=markdown, figures=figures)  # fmt: skip
