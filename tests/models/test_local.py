"""The local cache: activate, delete (the space comes back), serving settings."""

from __future__ import annotations

from pathlib import Path

from tests.models.conftest import Hub
from tests.models.helpers import disk_usage, download, downloaded
from tests.plugins.app import Gateway

TINY = "acme/tiny-llama-1b"
ACTIVATE = """mutation($id: String!, $rev: String) { activateModel(id: $id, revision: $rev) {
  __typename ... on ActiveModel { id commit refs activatedBy }
  ... on ModelsError { field code message } } }"""
DELETE = """mutation($id: String!, $force: Boolean! = false) { deleteModel(id: $id, force: $force) {
  __typename ... on DeletedModel { id commits freedBytes } ... on ModelsError { code message } } }"""
SETTINGS = """mutation($input: UpdateModelSettingsInput!) { updateModelSettings(input: $input) {
  __typename ... on ModelSettings { modelId contextLength dtype quantization gpuMemoryFraction
  maxConcurrentRequests tensorParallelSize overridden version updatedBy }
  ... on ModelsError { field code message } } }"""


async def test_delete_frees_the_space(gw: Gateway, hub: Hub, tmp_path: Path) -> None:
    await downloaded(gw, "acme/mini-bert")
    await downloaded(gw, TINY)
    cache = tmp_path / "hf-cache"
    repo_dir = cache / "models--acme--tiny-llama-1b"
    before = disk_usage(cache)
    size = sum(hub.files(TINY).values())
    assert disk_usage(repo_dir / "blobs") == size  # plus refs/main

    body = await gw.gql(DELETE, {"id": TINY})
    deleted = body["data"]["deleteModel"]
    assert deleted["__typename"] == "DeletedModel"
    repo = hub.sandbox.state.get(TINY)
    assert repo is not None
    assert deleted["commits"] == [repo.head.sha]
    assert deleted["freedBytes"] == size
    assert not repo_dir.exists()
    assert disk_usage(cache) <= before - size
    local = await gw.gql("{ models { local { id } } }")
    assert local["data"]["models"]["local"] == [{"id": "acme/mini-bert"}]

    again = await gw.gql(DELETE, {"id": TINY})
    assert again["data"]["deleteModel"]["code"] == "NOT_LOCAL"
    entries = await gw.gql("{ access { auditLog(first: 5) { nodes { action target after } } } }")
    actions = [(e["action"], e["target"]) for e in entries["data"]["access"]["auditLog"]["nodes"]]
    assert ("deleteModel", TINY) in actions


async def test_activate_needs_a_local_model_and_guards_deletion(gw: Gateway, hub: Hub) -> None:
    missing = await gw.gql(ACTIVATE, {"id": TINY})
    assert missing["data"]["activateModel"]["code"] == "NOT_LOCAL"
    bad = await gw.gql(ACTIVATE, {"id": "../../etc"})
    assert bad["data"]["activateModel"] == {
        "__typename": "ModelsError",
        "field": "id",
        "code": "BAD_USER_INPUT",
        "message": bad["data"]["activateModel"]["message"],
    }

    await downloaded(gw, TINY)
    repo = hub.sandbox.state.get(TINY)
    assert repo is not None
    active = await gw.gql(ACTIVATE, {"id": TINY, "rev": "main"})
    assert active["data"]["activateModel"] == {
        "__typename": "ActiveModel",
        "id": TINY,
        "commit": repo.head.sha,
        "refs": ["main"],
        "activatedBy": "admin",
    }
    body = await gw.gql(
        "{ models { active { id commit model { id active } settings { modelId contextLength } } "
        "local { id active } } }"
    )
    models = body["data"]["models"]
    assert models["active"]["model"] == {"id": TINY, "active": True}
    assert models["active"]["settings"] == {"modelId": TINY, "contextLength": None}
    assert models["local"] == [{"id": TINY, "active": True}]

    refused = await gw.gql(DELETE, {"id": TINY})
    assert refused["data"]["deleteModel"]["code"] == "CONFLICT"
    forced = await gw.gql(DELETE, {"id": TINY, "force": True})
    assert forced["data"]["deleteModel"]["__typename"] == "DeletedModel"
    after = await gw.gql("{ models { active { id } } }")
    assert after["data"]["models"]["active"] is None


async def test_delete_waits_for_running_downloads(gw: Gateway, hub: Hub) -> None:
    await downloaded(gw, TINY, allowPatterns=["*.json"])
    hub.sandbox.hang(f"/{TINY}/resolve/*/model.safetensors", method="GET")
    started = await download(gw, TINY)
    refused = await gw.gql(DELETE, {"id": TINY})
    assert refused["data"]["deleteModel"]["code"] == "CONFLICT"
    assert started["id"] in refused["data"]["deleteModel"]["message"]
    await gw.gql(
        "mutation($id: ID!) { cancelDownload(jobId: $id) { __typename } }", {"id": started["id"]}
    )
    hub.sandbox.clear_faults()


async def test_serving_settings_defaults_overrides_and_validation(gw: Gateway) -> None:
    defaults = await gw.gql(SETTINGS, {"input": {"gpuMemoryFraction": 0.8, "dtype": "BFLOAT16"}})
    assert defaults["data"]["updateModelSettings"]["overridden"] == ["dtype", "gpuMemoryFraction"]

    await downloaded(gw, TINY)
    model = await gw.gql(
        SETTINGS, {"input": {"modelId": TINY, "contextLength": 1024, "maxConcurrentRequests": 8}}
    )
    view = model["data"]["updateModelSettings"]
    assert view == {
        "__typename": "ModelSettings",
        "modelId": TINY,
        "contextLength": 1024,
        "dtype": "BFLOAT16",  # inherited
        "quantization": "NONE",
        "gpuMemoryFraction": 0.8,  # inherited
        "maxConcurrentRequests": 8,
        "tensorParallelSize": 1,
        "overridden": ["contextLength", "maxConcurrentRequests"],
        "version": 1,
        "updatedBy": "admin",
    }
    reset = await gw.gql(SETTINGS, {"input": {"modelId": TINY, "contextLength": None}})
    assert reset["data"]["updateModelSettings"]["contextLength"] is None
    assert reset["data"]["updateModelSettings"]["overridden"] == ["maxConcurrentRequests"]

    cases = [
        ({"gpuMemoryFraction": 1.5}, "gpuMemoryFraction"),
        ({"tensorParallelSize": 3}, "tensorParallelSize"),
        ({"maxConcurrentRequests": 0}, "maxConcurrentRequests"),
        ({"contextLength": 4096}, "contextLength"),  # config.json says 2048
        ({"quantization": "AWQ"}, "quantization"),  # the model has no AWQ weights
        ({"contextLength": 2048, "maxBatchTokens": 512}, "maxBatchTokens"),
        ({"dtype": None}, "dtype"),
        ({"maxConcurrentRequests": 4, "expectedVersion": 1}, "expectedVersion"),
    ]
    for changes, field in cases:
        body = await gw.gql(SETTINGS, {"input": {"modelId": TINY, **changes}})
        error = body["data"]["updateModelSettings"]
        assert error["__typename"] == "ModelsError", (changes, error)
        assert error["field"] == field, (changes, error)
        expected = "CONFLICT" if field == "expectedVersion" else "BAD_USER_INPUT"
        assert error["code"] == expected, (changes, error)

    fp8 = await gw.gql(SETTINGS, {"input": {"modelId": TINY, "quantization": "FP8"}})
    assert fp8["data"]["updateModelSettings"]["quantization"] == "FP8"  # quantized on load
    query = await gw.gql(
        '{ models { settings(modelId: "acme/tiny-llama-1b") { version quantization } settings2: settings { modelId dtype } } }'
    )
    assert query["data"]["models"]["settings"] == {"version": 3, "quantization": "FP8"}
    assert query["data"]["models"]["settings2"] == {"modelId": None, "dtype": "BFLOAT16"}
