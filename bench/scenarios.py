"""``SCENARIOS``: HTTP load scenarios, each a small :class:`HttpScenario`.

A scenario names its target (a server the :class:`~bench.context.Context` starts), the
request, and a ``validate`` function that checks one response in full before the load
starts. Under load the generator then only compares each body with that validated one
(``check="exact"``), or checks ``data``/``errors`` when bodies vary (``check="graphql"``).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse

from bench.context import BENCH_SUBJECT, Context
from bench.load import Check, LoadSpec
from bench.servers import HOST, Server
from bench.stats import LoadResult

Target = Literal["floor", "strawberry", "gateway"]


@dataclass(frozen=True, slots=True)
class HttpScenario:
    name: str
    title: str
    target: Target
    query: str
    validate: Callable[[Any], None]
    """Raises ``AssertionError`` if the decoded JSON response is not the expected answer."""
    path: str = "/graphql"
    variables: dict[str, Any] | None = None
    check: Check = "exact"

    def body(self) -> str:
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not None:
            payload["variables"] = self.variables
        return json.dumps(payload, separators=(",", ":"))


SCENARIOS: dict[str, HttpScenario] = {}


def scenario(item: HttpScenario) -> HttpScenario:
    if item.name in SCENARIOS:
        raise ValueError(f"scenario {item.name!r} is registered twice")
    SCENARIOS[item.name] = item
    return item


def target_of(ctx: Context, item: HttpScenario) -> tuple[Server, dict[str, str]]:
    if item.target != "gateway":
        return ctx.app(item.target), {"Content-Type": "application/json"}
    gateway = ctx.gateway()
    return gateway.server, gateway.headers


def run_http(
    ctx: Context,
    item: HttpScenario,
    *,
    client: str | None = None,
    duration: float | None = None,
    warmup: float | None = None,
) -> LoadResult:
    """Validate one response, then load the target with the run's settings (or these)."""
    server, headers = target_of(ctx, item)
    body = probe(server, item, headers)
    return load(ctx, item, server, headers, body, client=client, duration=duration, warmup=warmup)


def answer(server: Server, item: HttpScenario, headers: dict[str, str]) -> bytes:
    """The body of one request of ``item``, which must be answered with 200."""
    status, body = post(server.port, item.path, item.body(), headers)
    if status != 200:
        raise RuntimeError(f"{item.name}: answered {status}: {body[:500]!r}")
    return body


def timed(server: Server, item: HttpScenario, headers: dict[str, str]) -> tuple[float, bytes]:
    """:func:`answer`, and the seconds it took."""
    started = time.perf_counter()
    body = answer(server, item, headers)
    return time.perf_counter() - started, body


def validated(item: HttpScenario, body: bytes) -> bytes:
    """``body`` once ``item.validate`` has accepted it."""
    try:
        item.validate(json.loads(body))
    except AssertionError as exc:
        raise RuntimeError(f"{item.name}: wrong answer ({exc}): {body[:500]!r}") from None
    return body


def probe(server: Server, item: HttpScenario, headers: dict[str, str]) -> bytes:
    """One response of ``item`` checked in full: what every response under load must match."""
    return validated(item, answer(server, item, headers))


def load(
    ctx: Context,
    item: HttpScenario,
    server: Server,
    headers: dict[str, str],
    expect: bytes,
    *,
    client: str | None = None,
    duration: float | None = None,
    warmup: float | None = None,
) -> LoadResult:
    """Load ``server`` with ``item`` at the run's settings (or these), comparing each
    response with ``expect`` (a :func:`probe`'s body)."""
    options = ctx.options
    spec = LoadSpec(
        host=HOST,
        port=server.port,
        path=item.path,
        headers=headers,
        body=item.body(),
        expect_body=expect.decode(),
        check=item.check,
        client=client or options.client,  # type: ignore[arg-type]
        concurrency=options.concurrency,
        warmup=options.warmup if warmup is None else warmup,
        duration=options.duration if duration is None else duration,
    )
    label = item.name if client in (None, options.client) else f"{item.name}-{client}"
    return ctx.load(label, server, spec)


def post(port: int, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request("POST", path, body=body.encode(), headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# -- GraphQL helpers ----------------------------------------------------------------------


def leaf_paths(query: str) -> list[tuple[str, ...]]:
    """Response-key paths of the selected leaf fields (fields without a selection set)."""
    document = parse(query)
    paths: list[tuple[str, ...]] = []

    def walk(selection_set: SelectionSetNode, prefix: tuple[str, ...]) -> None:
        for selection in selection_set.selections:
            if not isinstance(selection, FieldNode):
                raise ValueError("benchmark queries use plain fields (no fragments)")
            key = (selection.alias or selection.name).value
            if selection.selection_set is None:
                paths.append((*prefix, key))
            else:
                walk(selection.selection_set, (*prefix, key))

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            walk(definition.selection_set, ())
    return paths


def values_at(data: Any, path: tuple[str, ...]) -> Iterator[Any]:
    """Every value at ``path`` in a response, looking through lists."""
    if isinstance(data, list):
        for item in data:
            yield from values_at(item, path)
        return
    if not path:
        yield data
        return
    if isinstance(data, dict) and path[0] in data:
        yield from values_at(data[path[0]], path[1:])


def count_leaf_values(data: Any) -> int:
    """Scalar values in a response (list elements of scalar lists included)."""
    if isinstance(data, dict):
        return sum(count_leaf_values(v) for v in data.values())
    if isinstance(data, list):
        return sum(count_leaf_values(v) for v in data)
    return 1


def graphql_data(response: Any) -> dict[str, Any]:
    assert isinstance(response, dict), "not a JSON object"
    assert not response.get("errors"), f"GraphQL errors: {response.get('errors')}"
    data = response.get("data")
    assert isinstance(data, dict), "no data"
    return data


def require_every_leaf(query: str) -> Callable[[Any], None]:
    """A validator: no errors, and every selected leaf field present (non-empty lists)."""
    paths = leaf_paths(query)

    def validate(response: Any) -> None:
        data = graphql_data(response)
        for path in paths:
            assert any(True for _ in values_at(data, path)), f"no value at {'.'.join(path)}"

    return validate


def me_is_bench(response: Any) -> None:
    me = graphql_data(response).get("me")
    assert isinstance(me, dict) and me.get("subject") == BENCH_SUBJECT, f"me = {me!r}"
