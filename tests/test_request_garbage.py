"""A request must leave nothing for the cycle collector.

Objects caught in a reference cycle outlive their request until the collector finds them;
under a flood that meant a young-generation collection every few hundred requests, each a
pause of several milliseconds that every other client's request waited through (found by
``make hostile``: another client's p99 went past 2x its normal one). Freed by reference
counting instead, a request costs no pause at all.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from tests.plugins.app import Gateway
from tests.usage.helpers import event, post_events

SERVER_SIDE = ("gateway.", "schema.", "starlette.", "uvicorn.", "strawberry.", "graphql.")
QUERIES = [
    "{ me { subject roles } }",
    # A list of plain objects: the fast list path of schema/execution.py.
    "{ access { roles { name inherits permissions { resource action } } } }",
    # A field whose backend is not configured: the error path (and, for the viewer, a
    # permission refused).
    "{ revenue { asOf } }",
    # A mutation whose failure is data (a typed error), and for the viewer refused.
    'mutation { deleteRole(name: "no-such-role") { __typename } }',
]


@contextmanager
def cycles_left() -> Iterator[dict[str, int]]:
    """Yields a dict filled, when the block ends, with the server-side objects (by type) the
    block left for the cycle collector."""
    found: dict[str, int] = {}
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield found
        gc.collect()
        kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
        # The test's own client (httpx, httpcore, anyio) leaves cycles of its own: not ours.
        found.update({k: n for k, n in kinds.items() if k.startswith(SERVER_SIDE)})
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


async def test_requests_leave_no_reference_cycles(live_gateway: Gateway) -> None:
    viewer = await live_gateway.token("viewer")
    for query in QUERIES:  # warm-up: caches, pools, lazily built schema parts
        await live_gateway.post(query)
        await live_gateway.post(query, token=viewer)

    with cycles_left() as ours:
        for _ in range(20):
            for query in QUERIES:
                for token in (live_gateway.admin_token, viewer):
                    response = await live_gateway.post(query, token=token)
                    assert response.status_code == 200, response.text
    assert ours == {}, f"left to the cycle collector after 160 requests: {ours}"


async def test_ingestion_leaves_no_reference_cycles(live_gateway: Gateway) -> None:
    token = await live_gateway.token("admin")
    await post_events(live_gateway.client, [event("warm")], token)
    with cycles_left() as ours:
        for batch in range(20):
            await post_events(
                live_gateway.client, [event(f"{batch}-{i}") for i in range(10)], token
            )
    assert ours == {}, f"left to the cycle collector after 20 batches: {ours}"
