"""The sandbox infrastructure: knobs, faults, counters and the in-process servers."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.sandbox.base import Sandbox, serve, serve_in_thread
from tests.plugins.servers import ServeApp


async def item(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["id"]})


async def echo(request: Request) -> Response:
    return JSONResponse({"got": await request.json()})


def make_sandbox(latency: float = 0.0) -> Sandbox:
    routes = [
        Route("/a/{id}", item),
        Route("/b/{id}", item),
        Route("/echo", echo, methods=["POST"]),
    ]
    return Sandbox(Starlette(routes=routes), latency=latency)


@pytest.fixture
def sandbox() -> Sandbox:
    return make_sandbox()


@pytest.fixture
async def http(serve_app: ServeApp, sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    base_url = await serve_app(sandbox)
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        yield client


async def timed_get(http: httpx.AsyncClient, path: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await http.get(path)
    return response, time.perf_counter() - started


async def test_latency_knob_delays_and_is_adjustable(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    await http.get("/a/warmup")  # open the connection first, so only latency is measured
    sandbox.latency = 0.25
    response, slow = await timed_get(http, "/a/1")
    assert response.json() == {"id": "1"}
    assert slow >= 0.25
    sandbox.latency = 0.0
    _, fast = await timed_get(http, "/a/1")
    assert fast < 0.2


async def test_fail_applies_to_matching_path_only(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.fail("/a/*", status=503, body={"message": "down"})
    failed = await http.get("/a/1")
    assert failed.status_code == 503 and failed.json() == {"message": "down"}
    assert (await http.get("/b/1")).status_code == 200
    sandbox.clear_faults()
    assert (await http.get("/a/1")).status_code == 200


async def test_fail_default_body_headers_and_method_filter(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.fail("/echo", status=429, method="post", headers={"Retry-After": "3"})
    sandbox.fail("/b/*", status=418, body="teapot")
    limited = await http.post("/echo", json={"x": 1})
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert limited.json() == {"error": "injected fault", "status": 429}
    assert (await http.get("/a/1")).status_code == 200  # other method/path untouched
    teapot = await http.get("/b/1")
    assert (teapot.status_code, teapot.text) == (418, "teapot")


async def test_times_expires(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    fault = sandbox.fail("/a/*", status=500, times=2)
    statuses = [(await http.get("/a/1")).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert fault.hits == 2 and sandbox.faults == []


async def test_malformed(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.malformed("/a/*", times=1)
    response = await http.get("/a/1")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()
    assert (await http.get("/a/1")).json() == {"id": "1"}


async def test_hang_until_client_gives_up(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.hang("/a/*")
    with pytest.raises(httpx.ReadTimeout):
        await http.get("/a/1", timeout=0.2)
    assert (await http.get("/b/1")).status_code == 200
    for _ in range(50):  # the handler notices the disconnect and returns
        if sandbox.in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert sandbox.in_flight == 0


async def test_released_hang_is_answered_with_its_body(
    http: httpx.AsyncClient, sandbox: Sandbox
) -> None:
    sandbox.hang("/echo")
    pending = asyncio.create_task(http.post("/echo", json={"k": "v"}))
    await asyncio.sleep(0.15)
    assert not pending.done()
    sandbox.clear_faults()
    response = await asyncio.wait_for(pending, 1.0)
    assert response.json() == {"got": {"k": "v"}}


async def test_slow_fault(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    await http.get("/b/warmup")
    sandbox.slow("/a/*", 0.2, times=1)
    _, slow = await timed_get(http, "/a/1")
    _, other = await timed_get(http, "/b/1")
    assert slow >= 0.2 and other < 0.15


async def test_counters(http: httpx.AsyncClient, sandbox: Sandbox) -> None:
    sandbox.fail("/b/2", status=500)
    await http.get("/a/1")
    await http.get("/a/1", params={"page": 2})
    await http.get("/b/2")
    await http.post("/echo", json={})
    await http.get("/nowhere")
    assert sandbox.counts == {
        "GET /a/1": 2,
        "GET /b/2": 1,
        "POST /echo": 1,
        "GET /nowhere": 1,
    }  # faulted and unknown paths are counted too; the query string is not part of the key
    assert sandbox.total == 5
    sandbox.reset_counts()
    assert sandbox.total == 0 and sandbox.counts == {}


async def test_serve_context_manager_stops_cleanly() -> None:
    sandbox = make_sandbox()
    async with serve(sandbox) as base_url, httpx.AsyncClient(base_url=base_url) as http:
        assert base_url.startswith("http://127.0.0.1:")
        assert (await http.get("/a/1")).json() == {"id": "1"}
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{base_url}/a/1")


async def test_two_servers_get_distinct_ports(serve_app: ServeApp) -> None:
    first, second = await serve_app(make_sandbox()), await serve_app(make_sandbox())
    assert first != second


def test_serve_in_thread() -> None:
    sandbox = make_sandbox()
    base_url, stop = serve_in_thread(sandbox)
    try:
        response = httpx.get(f"{base_url}/a/7", timeout=2.0)
        assert response.json() == {"id": "7"}
        assert sandbox.counts["GET /a/7"] == 1
    finally:
        stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}/a/7", timeout=2.0)


async def test_stop_cancels_requests_still_hung_after_grace() -> None:
    sandbox = make_sandbox()
    sandbox.hang("/a/*")
    async with httpx.AsyncClient(timeout=5.0) as http:
        async with serve(sandbox, grace=0.1) as base_url:
            pending = asyncio.create_task(http.get(f"{base_url}/a/1"))
            await asyncio.sleep(0.1)
            assert sandbox.in_flight == 1
            started = time.perf_counter()
        assert time.perf_counter() - started < 1.0  # stop did not wait for the hang
        with pytest.raises(httpx.TransportError):
            await pending
    assert sandbox.in_flight == 0


@contextlib.asynccontextmanager
async def failing_lifespan(app: Starlette) -> AsyncIterator[None]:
    raise RuntimeError("store down")
    yield


async def test_failed_startup_raises_instead_of_exiting() -> None:
    with pytest.raises(RuntimeError, match="failed to start"):
        async with serve(Starlette(lifespan=failing_lifespan)):
            pass  # pragma: no cover


def test_failed_startup_in_thread_raises() -> None:
    with pytest.raises(RuntimeError, match="did not start"):
        serve_in_thread(Starlette(lifespan=failing_lifespan))
