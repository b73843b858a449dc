"""BackendClient against a real HTTP server (a Sandbox-wrapped Starlette app on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.backends.base import BackendClient
from gateway.backends.breaker import BreakerState, CircuitBreaker
from gateway.errors import (
    BackendError,
    BackendNotFound,
    BackendTimeout,
    BackendUnavailable,
    CircuitOpen,
    ErrorCode,
    NotConfigured,
)
from gateway.sandbox.base import Sandbox
from tests.plugins.servers import ServeApp

SECRET = "sk-live-0123456789abcdef"


async def ok(request: Request) -> Response:
    return JSONResponse({"ok": True, "q": request.query_params.get("q")})


async def create(request: Request) -> Response:
    return JSONResponse({"created": await request.json()}, status_code=201)


async def missing(request: Request) -> Response:
    return JSONResponse({"status": 404, "error": "Not Found", "code": "customer_not_found"}, 404)


async def unauthorized(request: Request) -> Response:
    # A careless backend echoing our credentials back must not leak them to callers.
    auth = request.headers.get("authorization", "")
    return JSONResponse({"message": f"invalid key {auth}"}, status_code=401)


async def boom(request: Request) -> Response:
    detail = f"database exploded; token={SECRET} " + "x" * 5000
    return JSONResponse({"message": detail}, status_code=500)


async def echo_headers(request: Request) -> Response:
    return JSONResponse(dict(request.headers))


async def redirect(request: Request) -> Response:
    return RedirectResponse(request.query_params["to"], status_code=307)


class Clock:
    """A hand-driven clock for the breaker (time is an input, not our code)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def on_call(self, *, backend: str, method: str, outcome: str, seconds: float) -> None:
        self.calls.append(
            {"backend": backend, "method": method, "outcome": outcome, "seconds": seconds}
        )

    @property
    def outcomes(self) -> list[str]:
        return [c["outcome"] for c in self.calls]


@pytest.fixture
def sandbox() -> Sandbox:
    routes = [
        Route("/ok", ok),
        Route("/items", create, methods=["POST"]),
        Route("/missing", missing),
        Route("/unauthorized", unauthorized),
        Route("/boom", boom),
        Route("/headers", echo_headers),
        Route("/redirect", redirect),
    ]
    return Sandbox(Starlette(routes=routes))


@pytest.fixture
async def base_url(serve_app: ServeApp, sandbox: Sandbox) -> str:
    return await serve_app(sandbox)


MakeClient = Callable[..., BackendClient]


@pytest.fixture
async def make_client(base_url: str) -> AsyncIterator[MakeClient]:
    clients: list[BackendClient] = []

    def make(**overrides: Any) -> BackendClient:
        options: dict[str, Any] = {
            "name": "lago",
            "base_url": base_url,
            "config_var": "LAGO_API_URL",
            "credentials_var": "LAGO_API_KEY",
            "timeout": 1.0,
            "backoff": 0.01,
            "headers": {"Authorization": f"Bearer {SECRET}"},
        }
        options.update(overrides)
        client = BackendClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def test_get_json_ok_with_params(make_client: MakeClient, sandbox: Sandbox) -> None:
    async with make_client() as client:
        assert await client.get_json("/ok", params={"q": "hi"}) == {"ok": True, "q": "hi"}
    assert sandbox.counts["GET /ok"] == 1
    assert (client.calls, client.failures) == (1, 0)


async def test_post_json_sends_body(make_client: MakeClient) -> None:
    client = make_client()
    assert await client.post_json("/items", json={"a": 1}) == {"created": {"a": 1}}


async def test_redirects_keep_credentials_on_the_same_origin_only(
    make_client: MakeClient, sandbox: Sandbox, serve_app: ServeApp, base_url: str
) -> None:
    other_origin = await serve_app(sandbox)  # same app, another port: another origin
    client = make_client(headers={"Authorization": f"Bearer {SECRET}", "X-Api-Key": SECRET})
    same = await client.get_json("/redirect", params={"to": f"{base_url}/headers"})
    assert same["x-api-key"] == SECRET and same["authorization"] == f"Bearer {SECRET}"
    away = await client.get_json("/redirect", params={"to": f"{other_origin}/headers"})
    assert "x-api-key" not in away and "authorization" not in away
    assert away["user-agent"] == "ops-gateway"


async def test_500_is_backend_error_not_retried_and_sanitized(
    make_client: MakeClient, sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    with pytest.raises(BackendError) as info:
        await client.get_json("/boom")
    err = info.value
    assert type(err) is BackendError
    assert (err.code, err.backend, err.status) == (ErrorCode.BACKEND_ERROR, "lago", 500)
    assert err.to_extensions()["backend"] == "lago"
    assert "database exploded" not in err.message  # the caller never sees the backend's body
    assert "database exploded" in caplog.text  # operators find it in the log...
    assert SECRET not in caplog.text  # ...but never our key
    assert sandbox.counts["GET /boom"] == 1  # 500 is not a retryable status


async def test_503_then_200_is_retried(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/ok", status=503, times=1)
    client = make_client()
    assert await client.get_json("/ok") == {"ok": True, "q": None}
    assert sandbox.counts["GET /ok"] == 2
    assert client.attempts == 2


async def test_retries_are_bounded(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/ok", status=502)
    with pytest.raises(BackendError) as info:
        await make_client(retries=2).get_json("/ok")
    assert info.value.status == 502
    assert sandbox.counts["GET /ok"] == 3  # one call + two retries


async def test_post_is_not_retried_on_503(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/items", status=503)
    with pytest.raises(BackendError) as info:
        await make_client().post_json("/items", json={})
    assert info.value.status == 503
    assert sandbox.counts["POST /items"] == 1


async def test_post_marked_idempotent_is_retried(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/items", status=503, times=1)
    assert await make_client().post_json("/items", json={"k": 1}, idempotent=True)
    assert sandbox.counts["POST /items"] == 2


async def test_429_honours_retry_after(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/ok", status=429, times=1, headers={"Retry-After": "0.3"})
    started = time.perf_counter()
    assert await make_client(backoff=0.0).get_json("/ok")
    assert time.perf_counter() - started >= 0.3
    assert sandbox.counts["GET /ok"] == 2


async def test_429_with_retry_after_beyond_cap_fails_at_once(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    sandbox.fail("/ok", status=429, headers={"Retry-After": "120"})
    with pytest.raises(BackendError) as info:
        await make_client(retry_after_cap=1.0).get_json("/ok")
    assert info.value.status == 429
    assert sandbox.counts["GET /ok"] == 1


async def test_404_is_backend_not_found(make_client: MakeClient, sandbox: Sandbox) -> None:
    with pytest.raises(BackendNotFound) as info:
        await make_client().get_json("/missing")
    assert (info.value.code, info.value.backend, info.value.status) == (
        ErrorCode.NOT_FOUND,
        "lago",
        404,
    )
    assert sandbox.counts["GET /missing"] == 1


async def test_404_can_be_accepted_by_the_caller(make_client: MakeClient) -> None:
    response = await make_client().request("GET", "/missing", accept={404})
    assert response.status_code == 404


@pytest.mark.parametrize("status", [401, 403])
async def test_rejected_credentials(make_client: MakeClient, sandbox: Sandbox, status: int) -> None:
    path = "/unauthorized" if status == 401 else "/ok"
    if status == 403:
        sandbox.fail("/ok", status=403, body={"message": f"Bearer {SECRET} forbidden"})
    with pytest.raises(BackendError) as info:
        await make_client().get_json(path)
    err = info.value
    assert err.code == ErrorCode.BACKEND_ERROR  # not UNAUTHENTICATED: not the caller's auth
    assert err.status == status
    assert "credentials" in err.message and "LAGO_API_KEY" in err.message
    assert SECRET not in err.message and SECRET not in str(err.to_extensions())
    assert sandbox.counts[f"GET {path}"] == 1


async def test_other_4xx_is_not_retried(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.fail("/ok", status=422, body={"error": "bad filter", "api_key": SECRET})
    with pytest.raises(BackendError) as info:
        await make_client().get_json("/ok")
    assert info.value.status == 422 and "bad filter" in info.value.message
    assert sandbox.counts["GET /ok"] == 1


async def test_hang_longer_than_timeout(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.hang("/ok")
    client = make_client(timeout=0.15, retries=1)
    started = time.perf_counter()
    with pytest.raises(BackendTimeout) as info:
        await client.get_json("/ok")
    # The timeout bounds the whole call: a hang uses it up, leaving no time for a retry.
    assert time.perf_counter() - started < 0.15 * 1.5
    assert (info.value.code, info.value.backend) == (ErrorCode.BACKEND_TIMEOUT, "lago")
    assert sandbox.counts["GET /ok"] == 1


async def test_a_retry_after_beyond_the_deadline_is_not_waited_for(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    sandbox.fail("/ok", status=429, headers={"Retry-After": "1"})
    client = make_client(timeout=0.5, retries=2)
    started = time.perf_counter()
    with pytest.raises(BackendError) as info:
        await client.get_json("/ok")
    assert time.perf_counter() - started < 0.5
    assert info.value.status == 429 and sandbox.counts["GET /ok"] == 1


async def test_slow_within_timeout_succeeds(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.slow("/ok", 0.15)
    client = make_client(timeout=0.6)
    assert await client.get_json("/ok") == {"ok": True, "q": None}
    assert sandbox.counts["GET /ok"] == 1


async def test_per_call_timeout_overrides_default(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    sandbox.slow("/ok", 0.3)
    with pytest.raises(BackendTimeout):
        await make_client(timeout=5.0, retries=0).request("GET", "/ok", timeout=0.1)


async def test_malformed_json(make_client: MakeClient, sandbox: Sandbox) -> None:
    sandbox.malformed("/ok")
    recorder = Recorder()
    with pytest.raises(BackendError) as info:
        await make_client(observer=recorder).get_json("/ok")
    assert type(info.value) is BackendError
    assert info.value.message == "invalid JSON from lago"
    assert recorder.outcomes == ["error"]


async def test_refused_port_is_unavailable(refused_url: str) -> None:
    async with BackendClient(
        name="hub", base_url=refused_url, config_var="HF_ENDPOINT", backoff=0.01, retries=1
    ) as client:
        with pytest.raises(BackendUnavailable) as info:
            await client.get_json("/api/models")
    assert (info.value.code, info.value.backend) == (ErrorCode.BACKEND_UNAVAILABLE, "hub")
    assert client.attempts == 2  # connect errors are retried


async def test_not_configured() -> None:
    client = BackendClient(name="lago", base_url=None, config_var="LAGO_API_URL")
    assert not client.configured
    with pytest.raises(NotConfigured) as info:
        await client.get_json("/customers")
    assert (info.value.code, info.value.backend) == (ErrorCode.NOT_CONFIGURED, "lago")
    assert "LAGO_API_URL" in info.value.message
    with pytest.raises(NotConfigured):
        await client.post_json("/events", json={})
    await client.aclose()


async def test_breaker_opens_fails_fast_half_opens_and_closes(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=30.0, clock=clock)
    recorder = Recorder()
    client = make_client(breaker=breaker, observer=recorder)
    sandbox.fail("/ok", status=500)
    for _ in range(3):
        with pytest.raises(BackendError):
            await client.get_json("/ok")
    assert breaker.state is BreakerState.OPEN
    assert sandbox.counts["GET /ok"] == 3

    with pytest.raises(CircuitOpen) as info:
        await client.get_json("/ok")
    assert (info.value.code, info.value.backend) == (ErrorCode.BACKEND_UNAVAILABLE, "lago")
    assert "circuit open" in info.value.message
    assert sandbox.counts["GET /ok"] == 3  # no network call
    assert recorder.outcomes[-1] == "circuit_open"

    clock.now += 30.0
    assert breaker.state is BreakerState.HALF_OPEN
    sandbox.clear_faults()
    assert await client.get_json("/ok") == {"ok": True, "q": None}
    assert breaker.state is BreakerState.CLOSED
    assert sandbox.counts["GET /ok"] == 4


async def test_half_open_trial_failure_reopens(make_client: MakeClient, sandbox: Sandbox) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    client = make_client(breaker=breaker)
    sandbox.fail("/ok", status=500)
    with pytest.raises(BackendError):
        await client.get_json("/ok")
    clock.now += 5.0
    with pytest.raises(BackendError) as info:
        await client.get_json("/ok")  # the trial goes out and fails
    assert not isinstance(info.value, CircuitOpen)
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen):
        await client.get_json("/ok")
    assert sandbox.counts["GET /ok"] == 2


async def test_4xx_does_not_trip_the_breaker(make_client: MakeClient, sandbox: Sandbox) -> None:
    breaker = CircuitBreaker(failure_threshold=2)
    client = make_client(breaker=breaker)
    for _ in range(4):
        with pytest.raises(BackendNotFound):
            await client.get_json("/missing")
    assert breaker.state is BreakerState.CLOSED


async def test_observer_receives_outcomes(
    make_client: MakeClient, sandbox: Sandbox, refused_url: str
) -> None:
    recorder = Recorder()
    client = make_client(observer=recorder, retries=0, timeout=0.15)
    await client.get_json("/ok")
    sandbox.fail("/boom", status=500)
    with pytest.raises(BackendError):
        await client.get_json("/boom")
    sandbox.hang("/ok", times=1)
    with pytest.raises(BackendTimeout):
        await client.get_json("/ok")
    with pytest.raises(BackendNotFound):
        await client.get_json("/missing")
    async with BackendClient(
        name="hub", base_url=refused_url, config_var="HF_ENDPOINT", retries=0, observer=recorder
    ) as down:
        with pytest.raises(BackendUnavailable):
            await down.get_json("/")
    assert recorder.outcomes == ["ok", "error", "timeout", "ok", "unavailable"]
    assert [c["backend"] for c in recorder.calls] == ["lago"] * 4 + ["hub"]
    assert all(c["method"] == "GET" and c["seconds"] >= 0 for c in recorder.calls)
    assert recorder.calls[2]["seconds"] >= 0.15
    assert (client.calls, client.failures) == (4, 2)


async def test_broken_observer_does_not_fail_calls(make_client: MakeClient) -> None:
    class Broken:
        def on_call(self, **_: Any) -> None:
            raise RuntimeError("metrics down")

    assert await make_client(observer=Broken()).get_json("/ok")


async def test_concurrent_calls_are_gated_to_pool_size(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    # 50 calls x 40 ms over 4 connections queue for ~0.5 s, longer than the 0.3 s timeout:
    # waiting for a slot must not count against a call's timeout.
    sandbox.latency = 0.04
    client = make_client(max_connections=4, timeout=0.3, retries=0)
    results = await asyncio.gather(
        *(client.get_json("/ok", params={"q": str(i)}) for i in range(50))
    )
    assert [r["q"] for r in results] == [str(i) for i in range(50)]
    assert sandbox.counts["GET /ok"] == 50
    assert sandbox.max_in_flight == 4
    assert (client.calls, client.failures) == (50, 0)


async def test_calls_queued_behind_a_failing_backend_fail_fast(
    make_client: MakeClient, sandbox: Sandbox
) -> None:
    # The calls wait for a slot in our semaphore, not inside httpx, so once the first two
    # failures open the breaker the other 18 never reach the network.
    sandbox.latency = 0.05
    sandbox.fail("/ok", status=500)
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=60.0)
    client = make_client(max_connections=2, breaker=breaker, retries=0)
    results = await asyncio.gather(
        *(client.get_json("/ok") for _ in range(20)), return_exceptions=True
    )
    assert all(isinstance(r, BackendError) for r in results)
    assert sum(isinstance(r, CircuitOpen) for r in results) == 18
    assert sandbox.counts["GET /ok"] == 2


async def test_health(make_client: MakeClient, sandbox: Sandbox, refused_url: str) -> None:
    client = make_client()
    assert await client.health("/missing")  # a 4xx still proves the backend is up
    sandbox.fail("/ok", status=503)
    assert not await client.health("/ok")
    assert sandbox.counts["GET /ok"] == 1  # health checks are never retried
    with pytest.raises(NotConfigured):
        await BackendClient(name="x", base_url=None, config_var="X_URL").health()


async def test_closed_client_refuses_calls(make_client: MakeClient) -> None:
    client = make_client()
    await client.get_json("/ok")
    await client.aclose()
    with pytest.raises(RuntimeError):
        await client.get_json("/ok")


def test_breaker_unit_half_open_lets_one_trial_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10.0, clock=clock)
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED  # the success reset the streak
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    clock.now += 10.0
    assert breaker.allow()  # the one trial
    assert not breaker.allow()  # everyone else still fails fast
    clock.now += 10.0
    assert breaker.allow()  # a trial that never reported does not wedge the breaker
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    clock.now += 10.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow() and breaker.allow()
