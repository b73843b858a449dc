"""Hostile review, models domain: ids, revisions and folders that try to name paths outside
the Hugging Face cache or the upload root, sent through the real GraphQL endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.sandbox.hub import WRITE_TOKEN
from tests.plugins.app import GatewayFactory
from tests.plugins.servers import ServeApp
from tests.security.review_env import ACTIVATE, DELETE, DOWNLOAD, UPLOAD, hub_gateway, tree

HOSTILE_IDS = [
    "../../etc",
    "/etc/passwd",
    "acme/..",
    "acme/../../etc",
    "..%2F..%2Fetc",
    "acme%2F..%2F..%2Fetc",
    "acme/%2e%2e",
    "acme/tiny\x00",
    "acme\\..\\..\\etc",
    "acme/tiny-llama-1b/../../x",
    "acme/tiny\r\nX-Injected: 1",
    "models--acme--tiny-llama-1b",
    "acme--x/y",
    "a" * 300 + "/b",
    "acme/" + "b" * 5000,
    "\uff41\uff43\uff4d\uff45/\uff54\uff49\uff4e\uff59",  # full-width letters
    ".git/config",
]
HOSTILE_REVISIONS = [
    "../../etc",
    "/etc",
    "main/../../x",
    "refs/../../../x",
    "%2e%2e/%2e%2e",
    "..\\..\\x",
    "main\x00",
    "main/./x",
    "main//x",
    "\\\\host\\share",
    "C:\\Windows",
    "m" * 5000,
]
HOSTILE_FOLDERS = [
    "..",
    "../",
    "../../etc",
    "/etc",
    "/",
    "sub/../../..",
    "%2e%2e/etc",
    "..\\..\\etc",
    "a\x00b",
    "x" * 5000,
    "a/" * 3000,
    "~",
    "~/.ssh",
]


async def test_hostile_model_ids_are_refused_everywhere(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, cache = await hub_gateway(
        serve_app, gateway_factory, tmp_path, hf_token=WRITE_TOKEN
    )
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("keep me")
    before = tree(tmp_path / "outside")
    for bad in HOSTILE_IDS:
        results = {
            "activate": (await gw.data(ACTIVATE, {"id": bad}))["activateModel"],
            "delete": (await gw.data(DELETE, {"id": bad}))["deleteModel"],
            "download": (await gw.data(DOWNLOAD, {"input": {"repoId": bad}}))["downloadModel"],
            "upload-target": (await gw.data(UPLOAD, {"input": {"repoId": bad, "folder": "x"}}))[
                "uploadModel"
            ],
            "upload-source": (
                await gw.data(
                    UPLOAD, {"input": {"repoId": "sandbox-user/copy", "sourceModelId": bad}}
                )
            )["uploadModel"],
        }
        for where, result in results.items():
            assert result["__typename"] == "ModelsError", (where, bad, result)
            assert result["code"] == "BAD_USER_INPUT", (where, bad, result)
        settings = await gw.gql(
            "mutation($id: String) { updateModelSettings(input: {modelId: $id, "
            "contextLength: 1024}) { __typename ... on ModelsError { code } } }",
            {"id": bad},
        )
        assert settings["data"]["updateModelSettings"] == {
            "__typename": "ModelsError",
            "code": "BAD_USER_INPUT",
        }, bad
    assert sandbox.total == 0  # not one of them reached the Hub
    assert tree(tmp_path / "outside") == before
    assert not cache.exists() or all(p.name.startswith("models--") for p in cache.iterdir())


@pytest.mark.parametrize("bad", HOSTILE_REVISIONS)
async def test_hostile_revisions_are_refused(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path, bad: str
) -> None:
    _, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    tiny = "acme/tiny-llama-1b"
    for name, query, variables in (
        ("activateModel", ACTIVATE, {"id": tiny, "rev": bad}),
        ("deleteModel", DELETE, {"id": tiny, "rev": bad}),
        ("downloadModel", DOWNLOAD, {"input": {"repoId": tiny, "revision": bad}}),
    ):
        result = (await gw.data(query, variables))[name]
        assert result["__typename"] == "ModelsError", (name, result)
        assert result["code"] == "BAD_USER_INPUT", (name, result)
        assert result["field"] == "revision", (name, result)
    source = {"repoId": "sandbox-user/copy", "sourceModelId": tiny, "sourceRevision": bad}
    result = (await gw.data(UPLOAD, {"input": source}))["uploadModel"]
    assert (result["code"], result["field"]) == ("BAD_USER_INPUT", "sourceRevision"), result
    assert not cache.exists()  # nothing was written anywhere, not even the cache


async def test_upload_folders_stay_under_the_upload_root(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, _ = await hub_gateway(serve_app, gateway_factory, tmp_path, hf_token=WRITE_TOKEN)
    (tmp_path / "model-uploads" / "sub").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("server secret")
    for bad in HOSTILE_FOLDERS:
        body = await gw.gql(UPLOAD, {"input": {"repoId": "sandbox-user/x", "folder": bad}})
        assert "errors" not in body, (bad, body)  # never an INTERNAL error
        result = body["data"]["uploadModel"]
        assert result["__typename"] == "ModelsError", (bad, result)
        assert result["code"] in ("BAD_USER_INPUT", "NOT_FOUND"), (bad, result)
        assert result["field"] == "folder", (bad, result)
    assert sandbox.state.get("sandbox-user/x") is None
    jobs = await gw.data("{ models { uploads { totalCount } } }")
    assert jobs["models"]["uploads"]["totalCount"] == 0
