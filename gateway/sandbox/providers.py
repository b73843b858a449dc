"""Fake LLM providers: the model-list endpoint of each of the nine kinds, on one server.

Each kind lives under its own prefix (``/openai/v1/models``, ``/anthropic/v1/models``,
``/google/v1beta/models``, ``/ollama/api/tags``...; :meth:`ProviderSandbox.base_url` gives the
base URL to configure) and checks that kind's real authentication, answering failures with
that API's own status and error body:

- OpenAI, Together, Cohere, vLLM, custom: ``Authorization: Bearer <key>``;
- Anthropic: ``x-api-key`` and ``anthropic-version`` (400 without the version);
- Google: ``?key=`` or ``x-goog-api-key`` (400 ``API_KEY_INVALID``, 403 without a key);
- Replicate: ``Authorization: Bearer <token>`` or the older ``Token <token>``;
- Ollama: none (vLLM too when its key is None, like a server started without --api-key).

Anthropic, Google, Cohere and Replicate page as the real APIs do; ``max_page_size`` makes
pages small enough for tests to see several. Deterministic: fixed keys and catalogs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.backends.providers.kinds import KINDS
from gateway.sandbox.base import Sandbox, bearer
from gateway.sandbox.provider_catalog import (
    CATALOG,
    DEFAULT_KEYS,
    T0,
    anthropic_error,
    google_error,
    json_response,
    offset_of,
    openai_error,
    page_token,
)

Handler = Callable[[Request], Awaitable[Response]]


class ProviderSandbox(Sandbox):
    def __init__(
        self,
        *,
        keys: Mapping[str, str | None] | None = None,
        max_page_size: int | None = None,
        latency: float = 0.0,
    ) -> None:
        self.keys: dict[str, str | None] = dict(DEFAULT_KEYS if keys is None else keys)
        self.max_page_size = max_page_size
        self.last_request: dict[str, dict[str, dict[str, str]]] = {}
        """kind -> {"headers": ..., "query": ...} of the last request seen."""
        handlers: dict[str, Handler] = {
            "openai": self._openai_like,
            "anthropic": self._anthropic,
            "google": self._google,
            "cohere": self._cohere,
            "together": self._together,
            "replicate": self._replicate,
            "vllm": self._openai_like,
            "ollama": self._ollama,
            "custom": self._openai_like,
        }
        routes = [
            Route(self.prefix(kind) + KINDS[kind].models_path, self._wrap(kind, handler))
            for kind, handler in handlers.items()
        ]
        super().__init__(Starlette(routes=routes), latency=latency)

    @staticmethod
    def prefix(kind: str) -> str:
        """The path of this kind's base URL: ``/<kind>`` plus the real base URL's path."""
        default = KINDS[kind].default_base_url or "https://custom.invalid/v1"
        return f"/{kind}{urlsplit(default).path}"

    def base_url(self, root: str, kind: str) -> str:
        """The base URL to configure for ``kind`` on this sandbox served at ``root``."""
        return root.rstrip("/") + self.prefix(kind)

    def _wrap(self, kind: str, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            self.last_request[kind] = {
                "headers": dict(request.headers),
                "query": dict(request.query_params),
            }
            return await handler(request)

        endpoint.__name__ = f"{kind}_models"
        return endpoint

    def _kind(self, request: Request) -> str:
        return request.url.path.strip("/").split("/", 1)[0]

    def _size(self, requested: str | None, default: int, maximum: int) -> int:
        try:
            size = int(requested) if requested else default
        except ValueError:
            size = default
        size = max(1, min(size, maximum))
        return min(size, self.max_page_size) if self.max_page_size else size

    # -- kinds -----------------------------------------------------------------------------
    async def _openai_like(self, request: Request) -> Response:
        kind = self._kind(request)
        expected = self.keys.get(kind)
        if expected is not None and bearer(request) != expected:
            if kind == "vllm":
                return json_response({"error": "Unauthorized"}, 401)
            return openai_error(bearer(request))
        owner = {"openai": "system", "vllm": "vllm"}.get(kind, "custom")
        data = []
        for i, name in enumerate(CATALOG[kind]):
            item = {"id": name, "object": "model", "created": T0 + i, "owned_by": owner}
            if kind == "vllm":
                item |= {"root": name, "parent": None, "max_model_len": 32768, "permission": []}
            data.append(item)
        return json_response({"object": "list", "data": data})

    async def _together(self, request: Request) -> Response:
        if bearer(request) != self.keys.get("together"):
            return openai_error(bearer(request), together=True)
        return json_response(
            [
                {
                    "id": name,
                    "object": "model",
                    "created": T0 + i,
                    "type": "chat",
                    "display_name": name.split("/")[-1].replace("-", " "),
                    "organization": name.split("/")[0],
                    "context_length": 131072,
                    "pricing": {"input": 0.88, "output": 0.88, "hourly": 0, "base": 0},
                }
                for i, name in enumerate(CATALOG["together"])
            ]
        )

    async def _anthropic(self, request: Request) -> Response:
        key = request.headers.get("x-api-key")
        if not key:
            return anthropic_error(401, "authentication_error", "x-api-key header is required")
        if key != self.keys.get("anthropic"):
            return anthropic_error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            message = "anthropic-version: header is required"
            return anthropic_error(400, "invalid_request_error", message)
        names = CATALOG["anthropic"]  # newest first, as the API lists them
        q = request.query_params
        start = names.index(q["after_id"]) + 1 if q.get("after_id") in names else 0
        page = names[start : start + self._size(q.get("limit"), 20, 1000)]
        data = [
            {
                "type": "model",
                "id": n,
                "display_name": "Claude " + " ".join(n.split("-")[1:-1]).title(),
                "created_at": f"2024-{10 - i:02d}-22T00:00:00Z",
            }
            for i, n in enumerate(page)
        ]
        return json_response(
            {
                "data": data,
                "has_more": start + len(page) < len(names),
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            }
        )

    async def _google(self, request: Request) -> Response:
        key = request.query_params.get("key") or request.headers.get("x-goog-api-key")
        if not key:
            return google_error(
                403,
                "PERMISSION_DENIED",
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if key != self.keys.get("google"):
            reason = "API_KEY_INVALID"
            return google_error(400, "INVALID_ARGUMENT", "API key not valid.", reason)
        q = request.query_params
        start = offset_of(q.get("pageToken"))
        if start < 0:
            return google_error(400, "INVALID_ARGUMENT", "Invalid page token.")
        names = CATALOG["google"]
        page = names[start : start + self._size(q.get("pageSize"), 50, 1000)]
        body: dict[str, Any] = {
            "models": [
                {
                    "name": f"models/{n}",
                    "version": "001",
                    "displayName": n.replace("-", " ").title(),
                    "description": f"Sandbox {n}",
                    "inputTokenLimit": 1_048_576,
                    "outputTokenLimit": 8192,
                    "supportedGenerationMethods": ["generateContent", "countTokens"],
                }
                for n in page
            ]
        }
        if start + len(page) < len(names):
            body["nextPageToken"] = page_token(start + len(page))
        return json_response(body)

    async def _cohere(self, request: Request) -> Response:
        token = bearer(request)
        if not token:
            return json_response({"message": "no api key supplied"}, 401)
        if token != self.keys.get("cohere"):
            return json_response({"message": "invalid api token"}, 401)
        q = request.query_params
        start = max(0, offset_of(q.get("page_token")))
        names = CATALOG["cohere"]
        page = names[start : start + self._size(q.get("page_size"), 20, 1000)]
        body: dict[str, Any] = {
            "models": [
                {
                    "name": n,
                    "endpoints": ["embed"] if n.startswith("embed") else ["chat", "generate"],
                    "finetuned": False,
                    "context_length": 128000,
                    "tokenizer_url": None,
                    "default_endpoints": [],
                }
                for n in page
            ]
        }
        if start + len(page) < len(names):
            body["next_page_token"] = page_token(start + len(page))
        return json_response(body)

    async def _replicate(self, request: Request) -> Response:
        if bearer(request, "bearer", "token") != self.keys.get("replicate"):
            problem = {
                "title": "Unauthenticated",
                "detail": "You did not pass a valid authentication token",
                "status": 401,
            }
            return json_response(problem, 401, "application/problem+json")
        start = max(0, offset_of(request.query_params.get("cursor")))
        names = CATALOG["replicate"]
        page = names[start : start + self._size(None, 25, 25)]

        def link(offset: int) -> str:
            return str(request.url.replace_query_params(cursor=page_token(offset)))

        end = start + len(page)
        return json_response(
            {
                "next": link(end) if end < len(names) else None,
                "previous": link(max(0, start - len(page))) if start else None,
                "results": [
                    {
                        "url": f"https://replicate.com/{n}",
                        "owner": n.split("/")[0],
                        "name": n.split("/")[1],
                        "description": f"Sandbox {n}",
                        "visibility": "public",
                        "run_count": 1000 * (len(names) - i),
                    }
                    for i, n in enumerate(page)
                ],
            }
        )

    async def _ollama(self, request: Request) -> Response:
        expected = self.keys.get("ollama")
        if expected is not None and bearer(request) != expected:  # an auth proxy in front
            return Response("Unauthorized", 401, media_type="text/plain")
        models = [
            {
                "name": n,
                "model": n,
                "modified_at": "2024-06-01T12:00:00.000000+00:00",
                "size": 4_700_000_000,
                "digest": f"{i:064x}",
                "details": {
                    "format": "gguf",
                    "family": n.split(":")[0].rstrip("0123456789.") or "llama",
                    "parameter_size": "7.6B",
                    "quantization_level": "Q4_K_M",
                },
            }
            for i, n in enumerate(CATALOG["ollama"])
        ]
        return json_response({"models": models})


def create_app(**kwargs: Any) -> ProviderSandbox:
    """The sandbox with its default keys and catalog (``ops-gateway serve --sandbox``)."""
    return ProviderSandbox(**kwargs)
