"""Uploads to the Hub and the Hugging Face token set through the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.models.credentials import DOC_ID
from gateway.secrets import rotate_stored_secrets
from gateway.store.names import MODELS_HUB as COLLECTION
from tests.models.conftest import Hub, ModelsGateway
from tests.models.helpers import FINISHED, downloaded
from tests.plugins.app import Gateway

UPLOAD = """mutation($input: UploadModelInput!) { uploadModel(input: $input) {
  __typename ... on UploadJob { id state repoId source }
  ... on ModelsError { field code message } } }"""
TOKEN = """mutation($token: String) { setHubToken(token: $token) {
  __typename ... on HubSettings { tokenSource tokenHint tokenUpdatedBy }
  ... on ModelsError { field code message } } }"""


async def _upload_done(gw: Gateway, job_id: str) -> dict:
    query = """query { models { uploads { nodes { id state files commit commitUrl
      error { code message } } } } }"""
    for _ in range(300):
        body = await gw.gql(query)
        [job] = [j for j in body["data"]["models"]["uploads"]["nodes"] if j["id"] == job_id]
        if job["state"] in FINISHED:
            return job
        await asyncio.sleep(0.03)
    raise AssertionError("upload did not finish")


async def test_upload_a_folder(models_gateway: ModelsGateway, hub: Hub, tmp_path: Path) -> None:
    gw = await models_gateway(hf_token=hub.sandbox.token)
    folder = tmp_path / "model-uploads" / "my-finetune"
    (folder / "weights").mkdir(parents=True)
    (folder / "config.json").write_text('{"model_type": "llama"}')
    (folder / "weights" / "model.safetensors").write_bytes(bytes(range(256)) * 300)

    body = await gw.gql(
        UPLOAD, {"input": {"repoId": "sandbox-user/my-finetune", "folder": "my-finetune"}}
    )
    started = body["data"]["uploadModel"]
    assert started["__typename"] == "UploadJob", started
    assert started["source"] == "folder:my-finetune"
    done = await _upload_done(gw, started["id"])
    assert done["state"] == "SUCCEEDED", done
    assert done["files"] == 2
    repo = hub.sandbox.state.get("sandbox-user/my-finetune")
    assert repo is not None and repo.private
    assert done["commit"] == repo.head.sha
    assert done["commitUrl"].endswith(f"/sandbox-user/my-finetune/commit/{repo.head.sha}")
    stored = repo.head.files["weights/model.safetensors"].data(repo.id)
    assert stored == (folder / "weights" / "model.safetensors").read_bytes()

    # The private repo round-trips: downloaded back through the gateway with the token.
    back = await downloaded(gw, "sandbox-user/my-finetune")
    assert back["progress"]["filesDone"] == 3  # and the Hub's .gitattributes


async def test_upload_a_cached_model(models_gateway: ModelsGateway, hub: Hub) -> None:
    gw = await models_gateway(hf_token=hub.sandbox.token)
    await downloaded(gw, "acme/embed-small")
    body = await gw.gql(
        UPLOAD,
        {
            "input": {
                "repoId": "sandbox-user/embed-copy",
                "sourceModelId": "acme/embed-small",
                "private": False,
            }
        },
    )
    started = body["data"]["uploadModel"]
    assert started["source"].startswith("cache:acme/embed-small@")
    assert (await _upload_done(gw, started["id"]))["state"] == "SUCCEEDED"
    copy = hub.sandbox.state.get("sandbox-user/embed-copy")
    original = hub.sandbox.state.get("acme/embed-small")
    assert copy is not None and original is not None and not copy.private
    for path, spec in original.head.files.items():
        assert copy.head.files[path].data(copy.id) == spec.data(original.id), path


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"folder": "../../etc"}, "BAD_USER_INPUT", "folder"),
        ({"folder": "/etc"}, "BAD_USER_INPUT", "folder"),
        ({"folder": "missing"}, "NOT_FOUND", "folder"),
        ({}, "BAD_USER_INPUT", "folder"),
        ({"sourceModelId": "acme/embed-small"}, "NOT_LOCAL", "sourceModelId"),
        ({"folder": "x", "repoId": "../../etc"}, "BAD_USER_INPUT", "repoId"),
    ],
)
async def test_uploads_that_cannot_start(
    models_gateway: ModelsGateway, hub: Hub, extra: dict, code: str, field: str
) -> None:
    gw = await models_gateway(hf_token=hub.sandbox.token)
    body = await gw.gql(UPLOAD, {"input": {"repoId": "sandbox-user/x", **extra}})
    error = body["data"]["uploadModel"]
    assert (error["code"], error["field"]) == (code, field), error
    assert hub.sandbox.total == 0


async def test_upload_without_a_token(gw: Gateway, hub: Hub) -> None:
    body = await gw.gql(UPLOAD, {"input": {"repoId": "sandbox-user/x", "folder": "x"}})
    assert body["data"]["uploadModel"]["code"] == "NO_TOKEN"


async def test_token_is_stored_encrypted_and_never_returned(gw: Gateway, hub: Hub) -> None:
    secret = hub.sandbox.token
    before = await gw.gql("{ models { hub { tokenSource tokenHint } } }")
    assert before["data"]["models"]["hub"] == {"tokenSource": "NONE", "tokenHint": None}

    body = await gw.gql(TOKEN, {"token": secret})
    assert body["data"]["setHubToken"] == {
        "__typename": "HubSettings",
        "tokenSource": "API",
        "tokenHint": "…" + secret[-4:],
        "tokenUpdatedBy": "admin",
    }
    doc = await gw.services.store.get(COLLECTION, DOC_ID)
    assert doc is not None and secret not in str(doc.data)
    assert await rotate_stored_secrets(gw.services.store, gw.services.secrets) >= 1
    assert await gw.services.models.credentials.token() == secret  # still readable

    # The stored token opens the gated repo; a bad one is refused as data.
    done = await downloaded(gw, "gated-org/llama-gated-7b")
    assert done["state"] == "SUCCEEDED"
    bad = await gw.gql(TOKEN, {"token": "has space"})
    assert bad["data"]["setHubToken"]["code"] == "BAD_USER_INPUT"
    assert "has space" not in str(bad)
    cleared = await gw.gql(TOKEN, {"token": None})
    assert cleared["data"]["setHubToken"]["tokenSource"] == "NONE"


async def test_token_errors_never_echo_the_value(gw: Gateway) -> None:
    body = await gw.gql("mutation { setHubToken(token: 42) { __typename } }")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    secret = "hf_secret_value_1234567890"
    body = await gw.gql(
        "mutation($t: String) { setHubToken(token: $t, extra: 1) { __typename } }", {"t": secret}
    )
    assert secret not in str(body)
