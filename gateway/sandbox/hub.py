"""A fake Hugging Face Hub that the real ``huggingface_hub`` client works against.

Read API: ``GET /api/models`` (``search author filter pipeline_tag sort direction limit full
config``, pages linked by ``Link: <...>; rel="next"``), ``/api/models/{repo}[/revision/{rev}]``
(``blobs=true`` adds sizes), ``/api/models/{repo}/tree/{rev}[/{path}]``,
``/api/models-tags-by-type`` and ``/api/whoami-v2``. Files: ``HEAD``/``GET
/{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag`` (``X-Linked-Etag`` and
``X-Linked-Size`` for LFS files) and ranges. Write API: ``POST /api/repos/create``,
``/api/validate-yaml``, ``/api/models/{repo}/preupload/{rev}`` (every file is taken inline,
"regular") and
``/api/models/{repo}/commit/{rev}`` (ndjson). Errors carry ``X-Error-Code`` (``RepoNotFound
RevisionNotFound EntryNotFound GatedRepo``) and ``X-Error-Message`` as the Hub's do.

Tokens (``Authorization: Bearer``): :data:`WRITE_TOKEN` may write and is granted the gated
repos, :data:`READ_TOKEN` may only read; any other token is refused with 401.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.sandbox.base import Sandbox
from gateway.sandbox.hub_api import listing, model_json, tags_by_type, tree_json
from gateway.sandbox.hub_commits import apply_commit, preupload
from gateway.sandbox.hub_repos import Commit, HubRepo, HubState, seed_repos

WRITE_TOKEN = "hf_sandbox_write_0123456789abcdefghij"
READ_TOKEN = "hf_sandbox_read_0123456789abcdefghijk"
USERS = {WRITE_TOKEN: ("sandbox-user", "write"), READ_TOKEN: ("sandbox-reader", "read")}


def hub_error(status: int, code: str | None, message: str, **headers: str) -> Response:
    extra = {"X-Error-Message": message, **headers}
    if code:
        extra["X-Error-Code"] = code
    return JSONResponse({"error": message}, status, headers=extra)


class HubSandbox(Sandbox):
    def __init__(self, *, latency: float = 0.0, page_size: int = 50) -> None:
        self.state = HubState(seed_repos())
        self.page_size = page_size
        self.token = WRITE_TOKEN
        self.read_token = READ_TOKEN
        get, post = ["GET"], ["POST"]
        routes = [
            Route("/api/models", self._list, methods=get),
            Route("/api/models-tags-by-type", self._tags, methods=get),
            Route("/api/whoami-v2", self._whoami, methods=get),
            Route("/api/repos/create", self._create, methods=post),
            Route("/api/validate-yaml", self._validate_yaml, methods=post),
            Route("/api/models/{org}/{name}", self._info, methods=get),
            Route("/api/models/{org}/{name}/revision/{revision:path}", self._info, methods=get),
            Route("/api/models/{org}/{name}/tree/{revision}", self._tree, methods=get),
            Route("/api/models/{org}/{name}/tree/{revision}/{path:path}", self._tree, methods=get),
            Route("/api/models/{org}/{name}/preupload/{revision}", self._preupload, methods=post),
            Route("/api/models/{org}/{name}/commit/{revision}", self._commit, methods=post),
            Route("/{org}/{name}/resolve/{revision}/{path:path}", self._resolve, methods=get),
        ]
        super().__init__(Starlette(routes=routes), latency=latency)

    # -- auth ----------------------------------------------------------------------------
    def _user(self, request: Request) -> tuple[str, str] | Response | None:
        header = request.headers.get("authorization", "")
        if not header:
            return None
        token = header.removeprefix("Bearer ").strip()
        user = USERS.get(token)
        if user is None:
            return hub_error(401, None, "Invalid credentials in Authorization header")
        return user

    def _repo(self, request: Request, user: tuple[str, str] | None) -> HubRepo | Response:
        repo_id = f"{request.path_params['org']}/{request.path_params['name']}"
        repo = self.state.get(repo_id)
        if repo is None or (repo.private and (user is None or user[1] != "write")):
            return hub_error(404, "RepoNotFound", "Repository not found")
        return repo

    def _read(self, request: Request) -> tuple[HubRepo, Commit, tuple[str, str] | None] | Response:
        """The repo, the commit its ``revision`` names (``main`` without one) and the user."""
        user = self._user(request)
        if isinstance(user, Response):
            return user
        repo = self._repo(request, user)
        if isinstance(repo, Response):
            return repo
        commit = repo.commit(request.path_params.get("revision"))
        if commit is None:
            return hub_error(404, "RevisionNotFound", "Invalid rev id")
        return repo, commit, user

    # -- read API ------------------------------------------------------------------------
    async def _list(self, request: Request) -> Response:
        user = self._user(request)
        if isinstance(user, Response):
            return user
        base = str(request.url.replace(query=""))
        items, next_url = listing(self.state, request.query_params, base, self.page_size, user)
        headers = {"Link": f'<{next_url}>; rel="next"'} if next_url else {}
        return JSONResponse(items, headers=headers)

    async def _tags(self, request: Request) -> Response:
        return JSONResponse(tags_by_type(self.state))

    async def _whoami(self, request: Request) -> Response:
        user = self._user(request)
        if isinstance(user, Response):
            return user
        if user is None:
            return hub_error(401, None, "Invalid username or password.")
        name, role = user
        token = {"displayName": "sandbox", "role": role}
        return JSONResponse({"type": "user", "name": name, "auth": {"accessToken": token}})

    async def _info(self, request: Request) -> Response:
        found = self._read(request)
        if isinstance(found, Response):
            return found
        repo, commit, _ = found
        blobs = request.query_params.get("blobs", "").lower() in ("1", "true")
        return JSONResponse(model_json(repo, commit, full=True, blobs=blobs))

    async def _tree(self, request: Request) -> Response:
        found = self._read(request)
        if isinstance(found, Response):
            return found
        repo, commit, _ = found
        recursive = request.query_params.get("recursive", "").lower() in ("1", "true")
        prefix = request.path_params.get("path", "").strip("/")
        entries = tree_json(repo, commit, prefix=prefix, recursive=recursive)
        if entries is None:
            return hub_error(404, "EntryNotFound", f"{prefix} does not exist", **_commit(commit))
        return JSONResponse(entries)

    async def _resolve(self, request: Request) -> Response:
        found = self._read(request)
        if isinstance(found, Response):
            return found
        repo, commit, user = found
        if repo.gated and (user is None or user[1] != "write"):
            status = 401 if user is None else 403
            message = (
                f"Access to model {repo.id} is restricted and you are not in the authorized list."
            )
            return hub_error(status, "GatedRepo", message, **_commit(commit))
        spec = commit.files.get(request.path_params["path"])
        if spec is None:
            return hub_error(404, "EntryNotFound", "Entry not found", **_commit(commit))
        etag = f'"{spec.etag(repo.id)}"'
        headers = {
            **_commit(commit),
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f'inline; filename="{spec.path.rsplit("/", 1)[-1]}"',
        }
        if spec.lfs:
            headers |= {"X-Linked-Etag": etag, "X-Linked-Size": str(spec.size)}
        if request.method == "HEAD":
            return Response(b"", headers=headers | {"Content-Length": str(spec.size)})
        if not spec.servable:
            return hub_error(503, None, "this file is too large for the sandbox")
        data = spec.data(repo.id)
        start, end = _range(request.headers.get("range"), len(data))
        if start is None:
            return Response(data, headers=headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(data[start : end + 1], 206, headers=headers)

    # -- write API -----------------------------------------------------------------------
    def _writer(self, request: Request) -> tuple[str, str] | Response:
        user = self._user(request)
        if isinstance(user, Response):
            return user
        if user is None or user[1] != "write":
            return hub_error(401, None, "You must use a write token to do this")
        return user

    def _writable(self, request: Request) -> HubRepo | Response:
        """The repo a write token asks to change (preupload, commit)."""
        user = self._writer(request)
        return user if isinstance(user, Response) else self._repo(request, user)

    async def _create(self, request: Request) -> Response:
        user = self._writer(request)
        if isinstance(user, Response):
            return user
        body = await _json(request)
        name, org = body.get("name"), body.get("organization") or user[0]
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or body.get("type") not in (None, "model")
        ):
            return hub_error(400, None, "invalid repo name or type")
        repo_id = f"{org}/{name}"
        url = f"{str(request.base_url).rstrip('/')}/{repo_id}"
        if self.state.get(repo_id) is not None:
            return JSONResponse({"error": "You already created this model repo", "url": url}, 409)
        private = body.get("private", body.get("visibility") == "private")
        self.state.create(repo_id, private=bool(private), at=datetime.now(UTC))
        return JSONResponse({"url": url, "name": repo_id, "id": repo_id})

    async def _validate_yaml(self, request: Request) -> Response:
        """README.md metadata: a ``---`` block must be closed (the Hub checks much more)."""
        content = str((await _json(request)).get("content") or "")
        if not content.startswith("---"):
            warning = {"message": "empty or missing yaml metadata in repo card"}
            return JSONResponse({"errors": [], "warnings": [warning]})
        if "\n---" not in content[3:]:
            error = {"message": "the yaml metadata block is not closed by ---"}
            return JSONResponse({"errors": [error], "warnings": []}, 400)
        return JSONResponse({"errors": [], "warnings": []})

    async def _preupload(self, request: Request) -> Response:
        repo = self._writable(request)
        if isinstance(repo, Response):
            return repo
        return JSONResponse(preupload(repo, await _json(request)))

    async def _commit(self, request: Request) -> Response:
        repo = self._writable(request)
        if isinstance(repo, Response):
            return repo
        base, body = str(request.base_url).rstrip("/"), await request.body()
        with self.state.lock:
            result = apply_commit(repo, body, base_url=base)
        if isinstance(result, str):
            return hub_error(422, None, result)
        return JSONResponse(result)


def _commit(commit: Commit) -> dict[str, str]:
    return {"X-Repo-Commit": commit.sha}


def _range(header: str | None, size: int) -> tuple[int | None, int]:
    if not header or not header.startswith("bytes="):
        return None, size - 1
    first, _, last = header.removeprefix("bytes=").split(",")[0].partition("-")
    try:
        start = int(first) if first else max(0, size - int(last))
        end = int(last) if first and last else size - 1
    except ValueError:
        return None, size - 1
    return (start, min(end, size - 1)) if start < size else (None, size - 1)


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def create_app(*, latency: float = 0.0, page_size: int = 50) -> HubSandbox:
    """The fake Hub with its seeded repos; ``app.token`` is a write token with gated access."""
    return HubSandbox(latency=latency, page_size=page_size)
