"""Slow clients meet deadlines (issue 13, part 5): a connection that sends nothing, headers
trickled a byte at a time (slowloris) and a body trickled the same way are cut off with 408
after ``GATEWAY_HEADER_TIMEOUT`` / ``GATEWAY_BODY_TIMEOUT``, and the gateway keeps serving
other clients while fifty of them hold connections."""

from __future__ import annotations

import socket
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.plugins.servers import served_gateway

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
LIMIT = 1.0


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    env = {
        "GATEWAY_HEADER_TIMEOUT": str(LIMIT),
        "GATEWAY_BODY_TIMEOUT": str(LIMIT),
        "GATEWAY_RATE_PER_SECOND": "100000",
        "GATEWAY_RATE_BURST": "100000",
    }
    tmp = tmp_path_factory.mktemp("slow")
    with served_gateway(tmp, roles={"slow": "admin"}, env=env) as gateway:
        yield gateway.url, gateway.tokens["slow"], gateway.port


def _until_closed(
    sock: socket.socket, trickle: bytes = b"", every: float = 0.2
) -> tuple[float, bytes]:
    """Send ``trickle`` a byte at a time until the server closes; (seconds, what it said)."""
    sock.settimeout(every)
    started, received, sent = time.monotonic(), b"", 0
    while time.monotonic() - started < 10:
        if sent < len(trickle):
            try:
                sock.send(trickle[sent : sent + 1])
            except OSError:
                break
            sent += 1
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    return time.monotonic() - started, received


def test_a_connection_that_sends_nothing_is_closed(served: tuple[str, str, int]) -> None:
    _, _, port = served
    with socket.create_connection(("127.0.0.1", port)) as sock:
        seconds, said = _until_closed(sock)
    assert LIMIT * 0.8 < seconds < LIMIT + 1.5
    assert said.startswith(b"HTTP/1.1 408")


def test_headers_trickled_byte_by_byte_are_cut_off(served: tuple[str, str, int]) -> None:
    _, _, port = served
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200
    with socket.create_connection(("127.0.0.1", port)) as sock:
        seconds, said = _until_closed(sock, head)
    assert seconds < LIMIT + 1.5, "the head's deadline runs from the first byte"
    assert said.startswith(b"HTTP/1.1 408")


def test_a_body_trickled_byte_by_byte_gets_408(served: tuple[str, str, int]) -> None:
    _, token, port = served
    head = (
        "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nContent-Length: 400\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        seconds, said = _until_closed(sock, b'{"query": "{ me { subject } }"' + b" " * 360)
    assert seconds < LIMIT + 1.5
    assert said.startswith(b"HTTP/1.1 408") and b"REQUEST_TIMEOUT" in said


def test_others_are_served_while_fifty_slow_clients_hold_connections(
    served: tuple[str, str, int],
) -> None:
    url, token, port = served
    headers = {"Authorization": f"Bearer {token}"}

    def times_of_me(client: httpx.Client) -> list[float]:
        times = []
        for _ in range(60):
            started = time.perf_counter()
            response = client.post(
                f"{url}/graphql", json={"query": "{ me { subject } }"}, headers=headers
            )
            assert response.status_code == 200
            times.append(time.perf_counter() - started)
        return times

    with httpx.Client(timeout=10) as client:
        times_of_me(client)  # warm-up: the first requests pay for caches and the pool
        normal = times_of_me(client)
        attackers = [socket.create_connection(("127.0.0.1", port)) for _ in range(50)]
        try:
            for sock in attackers:
                sock.send(b"GET /graphql HTTP/1.1\r\nHost: x\r\n")
            during = times_of_me(client)
            time.sleep(LIMIT + 0.5)
            for sock in attackers:  # each was answered 408 and closed by the server
                sock.settimeout(2)
                assert sock.recv(64).startswith(b"HTTP/1.1 408")
        finally:
            for sock in attackers:
                sock.close()
    # The median is the steady figure on a shared CI machine (one scheduler hiccup moves a
    # p99 of 60 samples; bench/hostile.py reports p99 over thousands). No request may wait
    # anywhere near the slow clients' deadline: they hold connections, not the event loop.
    usual, slowed = statistics.median(normal), statistics.median(during)
    assert slowed < max(2 * usual, usual + 0.02), (usual, slowed)
    assert max(during) < LIMIT / 2, max(during)
