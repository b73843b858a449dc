"""Shared set-up of the hostile review's tests (issue 10.5): backends served over real HTTP,
gateways pointed at them, and hostile variants of a backend built around its sandbox.

Plain functions rather than fixtures, so this folder needs no conftest of its own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.sandbox.hub import HubSandbox
from gateway.sandbox.hub import create_app as create_hub
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED")
JOB = "id state error { code message } progress { commit }"
DOWNLOAD = f"""mutation($input: DownloadModelInput!) {{ downloadModel(input: $input) {{
  __typename ... on DownloadJob {{ {JOB} }} ... on ModelsError {{ field message code }} }} }}"""
UPLOAD = """mutation($input: UploadModelInput!) { uploadModel(input: $input) {
  __typename ... on UploadJob { id state repoId source }
  ... on ModelsError { field code message } } }"""
ACTIVATE = """mutation($id: String!, $rev: String) { activateModel(id: $id, revision: $rev) {
  __typename ... on ActiveModel { id commit } ... on ModelsError { field code message } } }"""
DELETE = """mutation($id: String!, $rev: String, $force: Boolean! = false) {
  deleteModel(id: $id, revision: $rev, force: $force) {
  __typename ... on DeletedModel { id commits freedBytes }
  ... on ModelsError { field code message } } }"""


async def hub_gateway(
    serve_app: ServeApp,
    gateway_factory: GatewayFactory,
    tmp_path: Path,
    *,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    **overrides: Any,
) -> tuple[HubSandbox, Gateway, Path]:
    """The fake Hub (optionally behind a hostile ``wrap``) and a gateway with its own cache."""
    sandbox = create_hub()
    url = await serve_app(wrap(sandbox) if wrap else sandbox)
    cache = tmp_path / "hf-cache"
    settings = {"hf_endpoint": url, "hf_hub_cache": str(cache)}
    gw = await gateway_factory(**(settings | overrides))
    return sandbox, gw, cache


async def wait_download(gw: Gateway, job_id: str, within: float = 15.0) -> dict[str, Any]:
    query = f"query($id: ID!) {{ models {{ download(id: $id) {{ {JOB} }} }} }}"
    deadline = time.monotonic() + within
    while True:
        current = (await gw.data(query, {"id": job_id}))["models"]["download"]
        if current["state"] in FINISHED:
            return current
        assert time.monotonic() < deadline, f"download stuck: {current}"
        await asyncio.sleep(0.03)


async def download(gw: Gateway, repo_id: str, **extra: Any) -> dict[str, Any]:
    """Start a download and wait for its end; the finished job (or the ModelsError)."""
    started = (await gw.data(DOWNLOAD, {"input": {"repoId": repo_id, **extra}}))["downloadModel"]
    if started["__typename"] != "DownloadJob":
        return started
    return await wait_download(gw, started["id"])


async def wait_upload(gw: Gateway, job_id: str, within: float = 15.0) -> dict[str, Any]:
    query = "{ models { uploads { nodes { id state files error { code message } } } } }"
    deadline = time.monotonic() + within
    while True:
        nodes = (await gw.data(query))["models"]["uploads"]["nodes"]
        [current] = [j for j in nodes if j["id"] == job_id]
        if current["state"] in FINISHED:
            return current
        assert time.monotonic() < deadline, f"upload stuck: {current}"
        await asyncio.sleep(0.03)


def tree(root: Path) -> dict[str, bytes | str]:
    """Every entry under ``root`` (links by target, files by content), to prove nothing moved."""
    entries: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        key = path.relative_to(root).as_posix()
        if path.is_symlink():
            entries[key] = f"-> {path.readlink()}"
        elif path.is_file():
            entries[key] = path.read_bytes()
        else:
            entries[key] = "dir"
    return entries


def found(root: Path, pattern: str) -> list[Path]:
    """Entries under ``root`` matching ``pattern`` (none when ``root`` does not exist)."""
    return sorted(root.rglob(pattern))


def outside_of(root: Path, inner: Path) -> set[Path]:
    """Entries under ``root`` that are not ``inner`` or under it."""
    return {p for p in root.rglob("*") if p != inner and inner not in p.parents}


def read_all(root: Path, pattern: str) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.glob(pattern)))


class HeaderRewriter:
    """A hostile mirror in front of a sandbox: response headers named in ``replace`` are
    swapped for the given values (an ETag that is a path, say)."""

    def __init__(self, app: ASGIApp, replace: dict[bytes, bytes]) -> None:
        self.app = app
        self.replace = {k.lower(): v for k, v in replace.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (k, self.replace.get(k.lower(), v)) for k, v in message["headers"]
                ]
            await send(message)

        await self.app(scope, receive, rewrite)


class HeaderRecorder:
    """Records the request headers a backend received, then lets its sandbox answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.seen: list[list[tuple[bytes, bytes]]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(list(scope["headers"]))
        await self.app(scope, receive, send)

    def values(self, name: bytes) -> list[bytes]:
        return [v for headers in self.seen for k, v in headers if k.lower() == name.lower()]
