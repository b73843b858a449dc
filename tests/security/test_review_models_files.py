"""Hostile review, models domain: symlinks planted in the Hugging Face cache or the upload
root that point outside, and a hostile Hub mirror naming paths in its answers. deleteModel
must never delete outside the cache, uploads never read outside the allowed folder, and
downloads never write outside the cache."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.sandbox.hub import WRITE_TOKEN
from gateway.sandbox.hub_files import FileSpec
from tests.plugins.app import GatewayFactory
from tests.plugins.servers import ServeApp
from tests.security.review_env import (
    DELETE,
    DOWNLOAD,
    UPLOAD,
    HeaderRewriter,
    download,
    found,
    hub_gateway,
    outside_of,
    tree,
    wait_upload,
)

EMBED = "acme/embed-small"
STORAGE = "models--acme--embed-small"


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    (outside / "snap").mkdir(parents=True)
    (outside / "victim.bin").write_bytes(b"not the cache's to delete")
    (outside / "snap" / "config.json").write_text('{"max_position_embeddings": 8}')
    return outside


async def test_delete_never_follows_a_planted_file_link_out_of_the_cache(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    outside = _outside(tmp_path)
    first = await download(gw, EMBED)
    assert first["state"] == "SUCCEEDED", first
    repo = sandbox.state.get(EMBED)
    assert repo is not None
    extra = FileSpec.of("extra.json", b"{}")
    repo.add_commit({**repo.head.files, extra.path: extra}, "second", datetime.now(UTC))
    second = await download(gw, EMBED)
    assert second["state"] == "SUCCEEDED", second
    old = first["progress"]["commit"]
    (cache / STORAGE / "snapshots" / old / "planted.bin").symlink_to(outside / "victim.bin")
    before_outside, before_cache = tree(outside), tree(cache)

    result = (await gw.data(DELETE, {"id": EMBED, "rev": old}))["deleteModel"]
    assert result["__typename"] == "ModelsError", result
    assert result["code"] == "CONFLICT" and "leave" in result["message"], result
    assert tree(outside) == before_outside
    assert tree(cache) == before_cache  # refused as a whole: nothing half-deleted

    # Once the planted link is gone, the same deletion goes through.
    (cache / STORAGE / "snapshots" / old / "planted.bin").unlink()
    done = (await gw.data(DELETE, {"id": EMBED, "rev": old}))["deleteModel"]
    assert done["__typename"] == "DeletedModel" and done["commits"] == [old], done
    assert tree(outside) == before_outside


@pytest.mark.parametrize("planted", ["repo", "snapshot", "refs"])
async def test_delete_refuses_cache_entries_that_are_links_out(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path, planted: str
) -> None:
    _, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    outside = _outside(tmp_path)
    commit = "0" * 40
    if planted == "repo":  # the whole models--org--name folder is a link
        fake = outside / "fake-repo"
        (fake / "snapshots" / commit).mkdir(parents=True)
        (fake / "snapshots" / commit / "weights.bin").write_bytes(b"outside weights")
        cache.mkdir()
        (cache / "models--evil--model").symlink_to(fake)
        target = "evil/model"
    else:
        done = await download(gw, EMBED)
        assert done["state"] == "SUCCEEDED", done
        target = EMBED
        if planted == "snapshot":  # a snapshot folder that is a link
            (cache / STORAGE / "snapshots" / commit).symlink_to(outside / "snap")
        else:  # a refs sub-folder that is a link: deleting its ref would unlink outside
            (outside / "refs" / "pr").mkdir(parents=True)
            (outside / "refs" / "pr" / "1").write_text(done["progress"]["commit"])
            (cache / STORAGE / "refs" / "pr").symlink_to(outside / "refs" / "pr")
    before = tree(outside)

    body = await gw.gql(DELETE, {"id": target})
    assert "errors" not in body, body  # never an INTERNAL error
    result = body["data"]["deleteModel"]
    assert result["__typename"] == "ModelsError", result
    assert result["code"] == "CONFLICT", result
    assert tree(outside) == before


async def test_upload_never_reads_a_link_out_of_the_folder(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, _ = await hub_gateway(serve_app, gateway_factory, tmp_path, hf_token=WRITE_TOKEN)
    outside = _outside(tmp_path)
    root = tmp_path / "model-uploads"
    (root / "with-file-link").mkdir(parents=True)
    (root / "with-file-link" / "config.json").write_text("{}")
    (root / "with-file-link" / "secret.bin").symlink_to(outside / "victim.bin")
    (root / "with-dir-link").mkdir()
    (root / "with-dir-link" / "weights").symlink_to(outside / "snap")
    (root / "is-a-link").symlink_to(outside)

    for folder in ("with-file-link", "with-dir-link", "is-a-link"):
        target = f"sandbox-user/{folder}"
        result = (await gw.data(UPLOAD, {"input": {"repoId": target, "folder": folder}}))[
            "uploadModel"
        ]
        assert result["__typename"] == "ModelsError", (folder, result)
        assert result["code"] == "BAD_USER_INPUT" and result["field"] == "folder", result
        assert sandbox.state.get(target) is None

    # A link that stays inside the folder is fine: the same bytes, uploaded once.
    (root / "fine").mkdir()
    (root / "fine" / "model.bin").write_bytes(b"weights")
    (root / "fine" / "alias.bin").symlink_to("model.bin")
    started = (await gw.data(UPLOAD, {"input": {"repoId": "sandbox-user/fine", "folder": "fine"}}))[
        "uploadModel"
    ]
    assert started["__typename"] == "UploadJob", started
    assert (await wait_upload(gw, started["id"]))["state"] == "SUCCEEDED"
    repo = sandbox.state.get("sandbox-user/fine")
    assert repo is not None and repo.head.files["alias.bin"].data(repo.id) == b"weights"


async def test_upload_of_a_cached_model_never_reads_a_planted_link(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, cache = await hub_gateway(
        serve_app, gateway_factory, tmp_path, hf_token=WRITE_TOKEN
    )
    outside = _outside(tmp_path)
    done = await download(gw, EMBED)
    assert done["state"] == "SUCCEEDED", done
    snapshot = cache / STORAGE / "snapshots" / done["progress"]["commit"]
    (snapshot / "stolen.bin").symlink_to(outside / "victim.bin")
    result = (
        await gw.data(UPLOAD, {"input": {"repoId": "sandbox-user/copy", "sourceModelId": EMBED}})
    )["uploadModel"]
    assert result["__typename"] == "ModelsError", result
    assert result["code"] == "BAD_USER_INPUT" and "stolen.bin" in result["message"], result
    assert sandbox.state.get("sandbox-user/copy") is None


async def test_a_planted_config_link_is_not_read(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    _, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    outside = _outside(tmp_path)
    done = await download(gw, "acme/tiny-llama-1b")
    assert done["state"] == "SUCCEEDED", done
    snapshot = cache / "models--acme--tiny-llama-1b" / "snapshots" / done["progress"]["commit"]
    (snapshot / "config.json").unlink()
    (snapshot / "config.json").symlink_to(outside / "snap" / "config.json")
    # The outside file says the model takes 8 tokens; the gateway must not have read it.
    body = await gw.data(
        'mutation { updateModelSettings(input: {modelId: "acme/tiny-llama-1b", '
        "contextLength: 1024}) { __typename ... on ModelsError { message } } }"
    )
    assert body["updateModelSettings"] == {"__typename": "ModelSettings"}


@pytest.mark.parametrize("planted", ["blobs", "snapshots", "refs", "repo"])
async def test_downloads_never_write_through_a_planted_link(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path, planted: str
) -> None:
    _, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    outside = _outside(tmp_path)
    (outside / "sink").mkdir()
    storage = cache / STORAGE
    if planted == "repo":
        cache.mkdir()
        storage.symlink_to(outside / "sink")
    else:
        storage.mkdir(parents=True)
        (storage / planted).symlink_to(outside / "sink")
    before = tree(outside)
    result = (await gw.data(DOWNLOAD, {"input": {"repoId": EMBED}}))["downloadModel"]
    assert result["__typename"] == "ModelsError", result
    assert result["code"] == "CONFLICT" and "link" in result["message"], result
    assert tree(outside) == before


@pytest.mark.parametrize(
    "header,value",
    [
        (b"etag", b'"../../../escaped-etag"'),
        (b"x-linked-etag", b'"../../../escaped-linked"'),
        (b"x-repo-commit", b"../../../escaped-commit"),
    ],
)
async def test_a_hostile_mirror_cannot_make_downloads_write_outside_the_cache(
    serve_app: ServeApp,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    header: bytes,
    value: bytes,
) -> None:
    _, gw, cache = await hub_gateway(
        serve_app,
        gateway_factory,
        tmp_path,
        wrap=lambda app: HeaderRewriter(app, {header: value}),
    )
    before = outside_of(tmp_path, cache)
    done = await download(gw, EMBED)
    assert done["state"] == "FAILED", done
    assert "refused the Hub's answer" in done["error"]["message"], done
    after = outside_of(tmp_path, cache)
    assert after - before <= {tmp_path / "gateway.db-wal", tmp_path / "gateway.db-shm"}
    assert not found(tmp_path, "*escaped*")


async def test_a_hostile_not_found_answer_cannot_mark_files_outside_the_cache(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    """huggingface_hub records a 404 as ``.no_exist/<X-Repo-Commit>/<file>``: the commit
    header of a not-found answer is a path too."""
    sandbox, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    headers = {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": "../../../escaped-nx"}
    sandbox.fail(f"/{EMBED}/resolve/*", status=404, headers=headers, method="HEAD")
    done = await download(gw, EMBED)
    assert done["state"] == "FAILED", done
    assert "refused the Hub's answer" in done["error"]["message"], done
    assert not found(tmp_path, "escaped-*")
    assert not found(cache, ".no_exist")


async def test_a_hostile_mirror_cannot_list_files_outside_the_snapshot(
    serve_app: ServeApp, gateway_factory: GatewayFactory, tmp_path: Path
) -> None:
    sandbox, gw, cache = await hub_gateway(serve_app, gateway_factory, tmp_path)
    repo = sandbox.state.get(EMBED)
    assert repo is not None
    evil = {
        "../../../../escaped-a.txt": FileSpec.of("../../../../escaped-a.txt", b"x"),
        "/tmp/escaped-b.txt": FileSpec.of("/tmp/escaped-b.txt", b"x"),
        "dir\\..\\..\\escaped-c.txt": FileSpec.of("dir\\..\\..\\escaped-c.txt", b"x"),
    }
    repo.add_commit({**repo.head.files, **evil}, "hostile", datetime.now(UTC))
    body = await gw.gql(DOWNLOAD, {"input": {"repoId": EMBED}})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BACKEND_ERROR", error
    assert "unsafe paths" in error["message"] and "escaped-a" in error["message"], error
    assert not found(cache, "*.txt")
    assert not found(tmp_path, "escaped-*")
    assert not [key for key in sandbox.counts if "/resolve/" in key]  # refused before any file
