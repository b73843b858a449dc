"""Downloads with the real huggingface_hub into a temporary cache: files, progress, cancel,
resume, bounded concurrency, gated repos, disk space, bad input."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from tests.models.conftest import Hub, ModelsGateway
from tests.models.helpers import download, downloaded, job, wait_job
from tests.plugins.app import Gateway

TINY = "acme/tiny-llama-1b"


async def test_download_is_byte_identical_and_listed_locally(
    gw: Gateway, hub: Hub, tmp_path: Path
) -> None:
    done = await downloaded(gw, TINY)
    repo = hub.sandbox.state.get(TINY)
    assert repo is not None
    sizes = hub.files(TINY)
    assert done["progress"] == {
        "bytesDone": sum(sizes.values()),
        "bytesTotal": sum(sizes.values()),
        "filesDone": len(sizes),
        "filesTotal": len(sizes),
        "percent": 100.0,
        "phase": "done",
        "commit": repo.head.sha,
    }
    snapshot = tmp_path / "hf-cache" / "models--acme--tiny-llama-1b" / "snapshots" / repo.head.sha
    for path in sizes:
        assert (snapshot / path).read_bytes() == hub.content(TINY, path), path

    body = await gw.gql(
        "{ models { local { id size fileCount active revisions { commit refs fileCount } "
        "quantizations { format variant } hub { id sha } } } }"
    )
    [local] = body["data"]["models"]["local"]
    assert local["id"] == TINY
    assert local["size"] == sum(sizes.values())
    assert local["fileCount"] == len(sizes)
    assert local["revisions"] == [
        {"commit": repo.head.sha, "refs": ["main"], "fileCount": len(sizes)}
    ]
    assert local["quantizations"] == [{"format": "SAFETENSORS", "variant": "BF16"}]
    assert local["hub"] == {"id": TINY, "sha": repo.head.sha}
    assert local["active"] is False


async def test_patterns_choose_files_and_a_second_download_only_fetches_the_rest(
    gw: Gateway, hub: Hub
) -> None:
    gguf = "acme/tiny-llama-1b-GGUF"
    first = await downloaded(gw, gguf, allowPatterns=["*.Q4_K_M.gguf"])
    assert first["progress"]["filesTotal"] == 1
    assert hub.count(f"GET /{gguf}/resolve/") == 1
    second = await downloaded(gw, gguf, ignorePatterns=["*.F16.gguf", "*.md"])
    assert second["progress"]["filesTotal"] == 4  # .gitattributes, Q4_K_M, Q5_K_S, Q8_0
    # The Q4_K_M file was already in the cache: three more GETs, not four.
    assert hub.count(f"GET /{gguf}/resolve/") == 4


async def test_same_download_twice_is_one_job(gw: Gateway, hub: Hub) -> None:
    hub.sandbox.slow(f"/{TINY}/resolve/*", 0.3, method="GET")
    first = await download(gw, TINY)
    again = await download(gw, TINY)
    assert again["id"] == first["id"]
    assert (await wait_job(gw, first["id"]))["state"] == "SUCCEEDED"


async def test_cancel_then_resume(gw: Gateway, hub: Hub, tmp_path: Path) -> None:
    hang = hub.sandbox.hang(f"/{TINY}/resolve/*/model.safetensors", method="GET")
    started = await download(gw, TINY)
    running = await wait_job(gw, started["id"], ("RUNNING",))
    assert running["state"] == "RUNNING"
    for _ in range(500):  # until the big file is on its way
        if hang.hits:
            break
        await asyncio.sleep(0.02)
    body = await gw.gql(
        "mutation($id: ID!) { cancelDownload(jobId: $id) { ... on DownloadJob { id state resumable } } }",
        {"id": started["id"]},
    )
    assert body["data"]["cancelDownload"] == {
        "id": started["id"],
        "state": "CANCELLED",
        "resumable": True,
    }
    snapshot = next((tmp_path / "hf-cache" / "models--acme--tiny-llama-1b" / "snapshots").iterdir())
    assert not (snapshot / "model.safetensors").exists()
    again = await gw.gql(
        "mutation($id: ID!) { cancelDownload(jobId: $id) { ... on ModelsError { code } } }",
        {"id": started["id"]},
    )
    assert again["data"]["cancelDownload"]["code"] == "INVALID_STATE"

    hub.sandbox.clear_faults()
    body = await gw.gql(
        "mutation($id: ID!) { resumeDownload(jobId: $id) { ... on DownloadJob { id state attempts } } }",
        {"id": started["id"]},
    )
    assert body["data"]["resumeDownload"]["id"] == started["id"]
    assert body["data"]["resumeDownload"]["attempts"] == 2
    done = await wait_job(gw, started["id"])
    assert done["state"] == "SUCCEEDED"
    assert (snapshot / "model.safetensors").read_bytes() == hub.content(TINY, "model.safetensors")


async def test_batch_downloads_run_two_at_a_time(gw: Gateway, hub: Hub) -> None:
    hub.sandbox.slow("/*/resolve/*", 0.15, method="GET")
    repos = ["acme/mini-bert", "acme/embed-small", "acme/whisper-micro", "community/model-01"]
    body = await gw.gql(
        "mutation($inputs: [DownloadModelInput!]!) { downloadModels(inputs: $inputs) "
        "{ __typename ... on DownloadJob { id repoId } } }",
        {"inputs": [{"repoId": r} for r in repos]},
    )
    jobs = body["data"]["downloadModels"]
    assert [j["repoId"] for j in jobs] == repos
    intervals = []
    for item in jobs:
        await wait_job(gw, item["id"])
        times = await gw.gql(
            "query($id: ID!) { models { download(id: $id) { state startedAt finishedAt } } }",
            {"id": item["id"]},
        )
        record = times["data"]["models"]["download"]
        assert record["state"] == "SUCCEEDED"
        intervals.append(
            (
                datetime.fromisoformat(record["startedAt"]),
                datetime.fromisoformat(record["finishedAt"]),
            )
        )
    most = max(sum(1 for s, f in intervals if s <= at < f) for at, _ in intervals)
    assert most == 2  # the runner's bound for downloads


async def test_gated_repo(models_gateway: ModelsGateway, hub: Hub) -> None:
    gated = "gated-org/llama-gated-7b"
    anonymous = await models_gateway()
    refused = await download(anonymous, gated)
    assert refused["__typename"] == "ModelsError"
    assert refused["code"] == "GATED"
    assert "token" in refused["message"]

    reader = await models_gateway(hf_token=hub.sandbox.read_token)
    started = await download(reader, gated)
    failed = await wait_job(reader, started["id"])
    assert failed["state"] == "FAILED"
    assert failed["error"]["code"] == "GATED"
    assert "no access" in failed["error"]["message"]

    granted = await models_gateway(hf_token=hub.sandbox.token)
    done = await downloaded(granted, gated)
    assert done["progress"]["filesDone"] == done["progress"]["filesTotal"]


@pytest.mark.parametrize(
    ("repo", "extra", "code", "field"),
    [
        ("../../etc", {}, "BAD_USER_INPUT", "repoId"),
        ("acme/tiny-llama-1b", {"revision": "../../etc"}, "BAD_USER_INPUT", "revision"),
        ("acme/no-such-model", {}, "NOT_FOUND", None),
        ("acme/tiny-llama-1b", {"revision": "f" * 40}, "NOT_FOUND", None),
        ("acme/tiny-llama-1b", {"allowPatterns": ["*.gguf"]}, "BAD_USER_INPUT", "allowPatterns"),
        ("acme/giant-405b", {}, "INSUFFICIENT_DISK", None),
    ],
)
async def test_downloads_that_cannot_start(
    gw: Gateway, hub: Hub, repo: str, extra: dict, code: str, field: str | None
) -> None:
    result = await download(gw, repo, **extra)
    assert result["__typename"] == "ModelsError", result
    assert (result["code"], result["field"]) == (code, field)
    assert hub.count("GET /acme/") == 0  # no file was fetched
    body = await gw.gql("{ models { downloads { totalCount } } }")
    assert body["data"]["models"]["downloads"]["totalCount"] == 0


async def test_hub_failing_during_a_download_fails_the_job(gw: Gateway, hub: Hub) -> None:
    hub.sandbox.fail(
        f"/{TINY}/resolve/*/config.json", status=404, headers={"X-Error-Code": "EntryNotFound"}
    )
    started = await download(gw, TINY)
    failed = await wait_job(gw, started["id"])
    assert failed["state"] == "FAILED"
    assert failed["error"]["code"] == "NOT_FOUND"
    assert failed["resumable"] is True


async def test_downloads_connection_pages_newest_first(gw: Gateway) -> None:
    ids = []
    for repo in ("community/model-03", "community/model-04", "community/model-05"):
        ids.append((await downloaded(gw, repo))["id"])
    body = await gw.gql(
        "{ models { downloads(first: 2) { totalCount edges { cursor node { id repoId } } "
        "pageInfo { hasNextPage endCursor } } } }"
    )
    conn = body["data"]["models"]["downloads"]
    assert conn["totalCount"] == 3
    assert [e["node"]["id"] for e in conn["edges"]] == ids[::-1][:2]
    assert conn["pageInfo"]["hasNextPage"] is True
    rest = await gw.gql(
        'query($after: String) { models { downloads(first: 2, after: $after, states: [SUCCEEDED], repoId: "community/model-03") { edges { node { id } } } } }',
        {"after": None},
    )
    assert [e["node"]["id"] for e in rest["data"]["models"]["downloads"]["edges"]] == [ids[0]]
    tail = await gw.gql(
        "query($after: String) { models { downloads(first: 2, after: $after) "
        "{ edges { node { id } } pageInfo { hasNextPage } } } }",
        {"after": conn["pageInfo"]["endCursor"]},
    )
    page = tail["data"]["models"]["downloads"]
    assert [e["node"]["id"] for e in page["edges"]] == [ids[0]]
    assert page["pageInfo"]["hasNextPage"] is False
    assert await job(gw, "nope") is None
