"""The nine provider kinds: each one's auth header, model list and paging, against the
provider sandbox over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from gateway.backends.providers import KINDS
from gateway.sandbox.provider_catalog import CATALOG
from tests.plugins.app import Gateway
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import create, probe, update

ALL_KINDS = list(KINDS)
# Where each kind must carry its key: header name -> expected value ("{key}" substituted).
EXPECTED_AUTH = {
    "openai": {"authorization": "Bearer {key}"},
    "anthropic": {"x-api-key": "{key}", "anthropic-version": "2023-06-01"},
    "google": {"x-goog-api-key": "{key}"},
    "cohere": {"authorization": "Bearer {key}"},
    "together": {"authorization": "Bearer {key}"},
    "replicate": {"authorization": "Bearer {key}"},
    "vllm": {"authorization": "Bearer {key}"},
    "ollama": {},
    "custom": {"authorization": "Bearer {key}"},
}
AUTH_HEADERS = {"authorization", "x-api-key", "x-goog-api-key"}


def expected_ids(kind: str) -> list[str]:
    return list(CATALOG[kind])


async def test_kinds_query_lists_the_nine_kinds(gateway: Gateway) -> None:
    body = await gateway.gql(
        "{ providers { kinds { kind label defaultBaseUrl modelsPath authStyle authHeader"
        " keyRequired baseUrlRequired docsUrl } } }",
        token=await gateway.token("viewer"),
    )
    kinds = {k["kind"]: k for k in body["data"]["providers"]["kinds"]}
    assert sorted(kinds) == sorted(k.upper() for k in KINDS)
    assert len(kinds) == 9
    assert kinds["OPENAI"]["defaultBaseUrl"] == "https://api.openai.com/v1"
    assert kinds["OPENAI"]["modelsPath"] == "/models"
    assert kinds["ANTHROPIC"]["authStyle"] == "X_API_KEY"
    assert "anthropic-version" in kinds["ANTHROPIC"]["authHeader"]
    assert kinds["GOOGLE"]["modelsPath"] == "/v1beta/models"
    assert kinds["OLLAMA"] | {"keyRequired": False, "modelsPath": "/api/tags"} == kinds["OLLAMA"]
    assert kinds["CUSTOM"]["defaultBaseUrl"] is None and kinds["CUSTOM"]["baseUrlRequired"]
    assert kinds["VLLM"]["keyRequired"] is False and kinds["REPLICATE"]["keyRequired"] is True


@pytest.mark.parametrize("kind", ALL_KINDS)
async def test_each_kind_sends_its_own_auth_header(
    gateway: Gateway, providers_sandbox: ServedSandbox, kind: str
) -> None:
    sb = providers_sandbox
    key = sb.key(kind)
    provider = await create(gateway, kind=kind, base_url=sb.url(kind), api_key=key)
    assert provider["__typename"] == "Provider", provider

    result = await probe(gateway, provider["id"])
    assert result["ok"] is True, result
    assert [m["id"] for m in result["models"]] == expected_ids(kind)
    assert result["modelCount"] == len(CATALOG[kind]) and result["truncated"] is False
    assert result["provider"]["lastTest"]["models"] == expected_ids(kind)

    seen = sb.sandbox.last_request[kind]
    for header, value in EXPECTED_AUTH[kind].items():
        assert seen["headers"].get(header) == value.format(key=key), (header, seen)
    sent = {h for h in AUTH_HEADERS if h in seen["headers"]}
    assert sent == set(EXPECTED_AUTH[kind]) & AUTH_HEADERS  # the key goes in one place only
    assert "key" not in seen["query"]  # never in the URL (it would be logged)

    if kind == "ollama":  # no authentication: a key is neither needed nor checked
        assert key is None and provider["hasApiKey"] is False
        return
    changed = await update(gateway, id=provider["id"], apiKey=f"wrong-{key}-wrong")
    assert changed["__typename"] == "Provider"
    failed = await probe(gateway, provider["id"])
    assert failed["ok"] is False and failed["models"] == []
    assert failed["error"]["code"] == "INVALID_KEY"
    assert failed["error"]["httpStatus"] == (400 if kind == "google" else 401)


# A request with the right key in another kind's style must be refused: the sandbox checks
# each API's real scheme. (kind, headers, params) -> status.
WRONG_STYLES = [
    ("openai", {"x-api-key": "{key}"}, {}, 401),
    ("anthropic", {"authorization": "Bearer {key}", "anthropic-version": "2023-06-01"}, {}, 401),
    ("anthropic", {"x-api-key": "{key}"}, {}, 400),  # the version header is required
    ("google", {"authorization": "Bearer {key}"}, {}, 403),
    ("cohere", {"x-api-key": "{key}"}, {}, 401),
    ("together", {"x-api-key": "{key}"}, {}, 401),
    ("replicate", {"x-api-key": "{key}"}, {}, 401),
    ("vllm", {"x-api-key": "{key}"}, {}, 401),
    ("custom", {"authorization": "Basic {key}"}, {}, 401),
]
RIGHT_ALTERNATIVES = [
    ("google", {}, {"key": "{key}"}),  # Google's documented ?key= form
    ("replicate", {"authorization": "Token {key}"}, {}),  # Replicate's older scheme
]


async def _list_models(
    sb: ServedSandbox, kind: str, headers: dict[str, str], params: dict[str, str]
) -> httpx.Response:
    """GET the kind's models list with these auth headers and parameters (``{key}`` is the
    sandbox's key for the kind)."""
    key = sb.key(kind)
    async with httpx.AsyncClient() as client:
        return await client.get(
            sb.url(kind) + KINDS[kind].models_path,
            headers={h: v.format(key=key) for h, v in headers.items()},
            params={p: v.format(key=key) for p, v in params.items()},
        )


@pytest.mark.parametrize(("kind", "headers", "params", "status"), WRONG_STYLES)
async def test_sandbox_refuses_other_auth_styles(
    providers_sandbox: ServedSandbox, kind: str, headers: dict, params: dict, status: int
) -> None:
    response = await _list_models(providers_sandbox, kind, headers, params)
    assert response.status_code == status, response.text


@pytest.mark.parametrize(("kind", "headers", "params"), RIGHT_ALTERNATIVES)
async def test_sandbox_accepts_documented_alternatives(
    providers_sandbox: ServedSandbox, kind: str, headers: dict, params: dict
) -> None:
    response = await _list_models(providers_sandbox, kind, headers, params)
    assert response.status_code == 200, response.text


async def test_paging_kinds_follow_every_page(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    for kind in ("anthropic", "google", "cohere", "replicate"):
        provider = await create(gateway, kind=kind, base_url=sb.url(kind), api_key=sb.key(kind))
        sb.sandbox.reset_counts()
        result = await probe(gateway, provider["id"])
        assert [m["id"] for m in result["models"]] == expected_ids(kind)
        pages = -(-len(CATALOG[kind]) // 2)  # max_page_size=2
        assert sb.sandbox.total == pages, (kind, sb.sandbox.counts)


async def test_model_details_are_parsed(gateway: Gateway, providers_sandbox: ServedSandbox) -> None:
    sb = providers_sandbox
    details = {}
    for kind in ("anthropic", "google", "together", "vllm", "ollama"):
        provider = await create(gateway, kind=kind, base_url=sb.url(kind), api_key=sb.key(kind))
        details[kind] = (await probe(gateway, provider["id"]))["models"][0]
    assert details["anthropic"]["displayName"].startswith("Claude")
    assert details["anthropic"]["createdAt"].startswith("2024-10-22")
    assert details["google"]["contextLength"] == 1_048_576
    assert details["together"]["owner"] == "meta-llama"
    assert details["vllm"]["contextLength"] == 32768
    assert details["ollama"]["displayName"] == "llama3.2:latest (7.6B Q4_K_M)"
