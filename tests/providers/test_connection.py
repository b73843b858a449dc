"""testProvider: a real call with a timeout, and each way it can fail reported cleanly."""

from __future__ import annotations

import time

from cryptography.fernet import Fernet
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.sandbox.base import Sandbox
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import create, probe


async def _openai(gw: Gateway, sb: ServedSandbox, base_url: str | None = None) -> str:
    url = base_url or sb.url("openai")
    provider = await create(gw, kind="openai", base_url=url, api_key=sb.key("openai"))
    assert provider["__typename"] == "Provider", provider
    return provider["id"]


async def test_timeout(gateway: Gateway, providers_sandbox: ServedSandbox) -> None:
    sb = providers_sandbox
    id = await _openai(gateway, sb)
    sb.sandbox.hang("/openai/*")
    started = time.perf_counter()
    result = await probe(gateway, id, seconds=0.5)
    elapsed = time.perf_counter() - started
    assert result["ok"] is False and result["error"]["code"] == "TIMEOUT"
    assert result["error"]["message"] == "no answer within 0.5 s"
    assert 450 <= result["latencyMs"] < 2000 and elapsed < 3
    assert result["provider"]["lastTest"]["error"]["code"] == "TIMEOUT"  # remembered


async def test_unreachable(gateway: Gateway, refused_url: str) -> None:
    provider = await create(gateway, kind="vllm", base_url=f"{refused_url}/v1")
    result = await probe(gateway, provider["id"])
    assert result["error"]["code"] == "UNREACHABLE" and result["error"]["httpStatus"] is None
    unknown = await create(gateway, kind="vllm", name="nx", base_url="http://no-such-host.invalid")
    result = await probe(gateway, unknown["id"])
    assert result["error"]["code"] == "UNREACHABLE"


async def test_upstream_answers_classified(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    id = await _openai(gateway, sb)
    cases = [
        ({"status": 503, "body": {"error": "overloaded"}}, "UPSTREAM_ERROR", 503),
        ({"status": 429, "headers": {"retry-after": "1"}}, "RATE_LIMITED", 429),
        ({"status": 403, "body": {"error": {"message": "region"}}}, "PERMISSION_DENIED", 403),
        ({"status": 400, "body": {"message": "bad request"}}, "REJECTED", 400),
    ]
    for fault, code, status in cases:
        sb.sandbox.fail("/openai/*", times=1, **fault)
        result = await probe(gateway, id)
        assert (result["error"]["code"], result["error"]["httpStatus"]) == (code, status)
    assert "overloaded" not in str(result)  # excerpts appear only where they help
    sb.sandbox.malformed("/openai/*", times=1)
    result = await probe(gateway, id)
    assert result["error"]["code"] == "BAD_RESPONSE"
    sb.sandbox.fail("/openai/*", times=1, status=200, body="<html>login</html>")
    assert (await probe(gateway, id))["error"]["code"] == "BAD_RESPONSE"
    sb.sandbox.fail("/openai/*", times=1, status=200, body={"models": []})  # not OpenAI's shape
    result = await probe(gateway, id)
    assert result["error"]["code"] == "BAD_RESPONSE" and "data" in result["error"]["message"]
    assert (await probe(gateway, id))["ok"] is True  # faults used up


async def test_wrong_base_path_is_not_found(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    id = await _openai(gateway, sb, base_url=sb.root + "/openai")  # the /v1 is missing
    result = await probe(gateway, id)
    assert result["error"]["code"] == "NOT_FOUND" and "base URL" in result["error"]["message"]


async def test_redirects_are_not_followed(
    gateway: Gateway, providers_sandbox: ServedSandbox, serve_app: ServeApp
) -> None:
    elsewhere = Sandbox(Starlette(routes=[Route("/{p:path}", lambda r: JSONResponse({}))]))
    target = await serve_app(elsewhere)
    sb = providers_sandbox
    id = await _openai(gateway, sb)
    sb.sandbox.fail("/openai/*", status=302, body="", headers={"location": f"{target}/steal"})
    result = await probe(gateway, id)
    assert result["error"]["code"] == "REDIRECTED" and result["error"]["httpStatus"] == 302
    assert target not in result["error"]["message"]
    assert elsewhere.total == 0  # nobody else got a request, let alone our key


async def test_undecryptable_key_is_reported_without_a_call(
    gateway_factory: GatewayFactory, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    first = await gateway_factory()
    id = await _openai(first, sb)
    other = await gateway_factory(secret_keys=(Fernet.generate_key().decode(),))
    sb.sandbox.reset_counts()
    result = await probe(other, id)
    assert result["error"]["code"] == "KEY_UNREADABLE" and sb.sandbox.total == 0
    assert "GATEWAY_SECRET_KEYS" in result["error"]["message"]


async def test_other_root_fields_survive(
    gateway: Gateway, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    id = await _openai(gateway, sb)
    sb.sandbox.hang("/openai/*")
    await probe(gateway, id, seconds=0.2)
    body = await gateway.gql("{ me { subject } providers { list { nodes { lastTest { ok } } } } }")
    assert body["data"]["me"]["subject"] == "admin"
    assert body["data"]["providers"]["list"]["nodes"] == [{"lastTest": {"ok": False}}]
