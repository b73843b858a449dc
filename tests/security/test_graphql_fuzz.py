"""GraphQL fuzzing (issue 13, part 2): documents generated from ``schema.graphql`` by
hypothesis-graphql (valid ones and ones with one violation, random arguments, aliases and
fragments), and byte-level mutations of valid documents, sent over HTTP to the gateway with
every sandbox behind it, as an admin, as a viewer and anonymously.

Whatever comes in: no 5xx, no ``INTERNAL`` code, no traceback or file path in a body, and no
data under a root field the caller's roles do not grant. ``make fuzz`` runs 10,000 cases
(``HYPOTHESIS_PROFILE=fuzz``); ``make test`` a few hundred.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hypothesis_graphql
import pytest
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    parse,
)
from graphql.error import GraphQLSyntaxError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from bench.chaos import Rig
from bench.context import create_token, scrubbed
from bench.reliability import write_section
from gateway.auth.permissions import BUILTIN_GRANTS
from schema import build_schema
from tests.security.matrix_ops import declared_permissions

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
SDL = (ROOT / "schema.graphql").read_text()
FULL = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
CASES = int(os.environ.get("FUZZ_CASES", "0")) or (5_000 if FULL else 250)
"""Per test: two tests, so 10,000 cases in ``make fuzz`` and 500 in ``make test``."""
TITLE = "GraphQL fuzzing (`make fuzz`)"
LEAKS = re.compile(r'Traceback|File "|/work/|site-packages|\.py\b')
ROLES = ("admin", "viewer", "anonymous")

SCALARS = {
    "DateTime": st.sampled_from(["2026-11-01T00:00:00Z", "1970-01-01T00:00:00+00:00", "x"]).map(
        nodes.String
    ),
    "Date": st.sampled_from(["2026-11-01", "0001-01-01", "2026-13-40"]).map(nodes.String),
    "Decimal": st.sampled_from(["0", "1.5", "-3", "1e400", "NaN", "abc"]).map(nodes.String),
    "Cents": st.integers(-(2**60), 2**60).map(nodes.Int),
    "UsageCount": st.integers(-1, 2**60).map(nodes.Int),
    "Bytes": st.sampled_from(["", "aGVsbG8=", "!!"]).map(nodes.String),
    "JSON": st.sampled_from(["{}", "[1,2]", "nope"]).map(nodes.String),
}


class Caller:
    def __init__(self, rig: Rig, token: str | None, permissions: frozenset[str]) -> None:
        self.permissions = permissions
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=rig.url, headers=headers, timeout=30)


STATS: Counter[tuple[str, str, str]] = Counter()
"""(test, role, outcome) -> cases; outcome is the HTTP status and the first error code."""
RSS: list[int] = []
"""The gateway's resident memory (kB): at the start, then after each test's cases."""


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Rig]:
    # The gateway serves from a child process, so its memory is measured alone.
    with Rig(Path(tmp_path_factory.mktemp("fuzz")), child=True).running() as running:
        RSS[:] = [_rss(running.pid)]
        yield running
        assert running.client.get("/healthz").status_code == 200, "alive at the end"
    print(f"\ngateway RSS (MB): {[round(kb / 1024) for kb in RSS]}")
    # Only a run in which every case passed may say so in RELIABILITY.md.
    if FULL and STATS and request.session.testsfailed == 0:
        write_section(TITLE, _report(RSS))


@pytest.fixture(autouse=True)
def _memory_after_each_test(rig: Rig) -> Iterator[None]:
    yield
    RSS.append(_rss(rig.pid))


def _rss(pid: int) -> int:
    """Resident memory of the process serving the gateway, in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _report(rss: list[int]) -> str:
    total = sum(STATS.values())
    outcomes = Counter[tuple[str, str]]()
    for (_, role, outcome), n in STATS.items():
        outcomes[(role, outcome)] += n
    lines = [
        f"{total:,} cases over HTTP against the gateway with every sandbox behind it: "
        "documents generated from `schema.graphql` by hypothesis-graphql (valid, and with "
        "one schema violation), and byte-level mutations of valid documents (raw, and "
        "inside a JSON body), each as an admin, a viewer and anonymously. Every case "
        "passed: no 5xx, no `INTERNAL`, no traceback or file path in a body, no data under "
        "a root field the caller's roles do not grant.",
        "",
        "Memory of the gateway's process (`ops-gateway serve`, a child of the test run): "
        + " -> ".join(f"{kb / 1024:.0f} MB" for kb in rss)
        + " (at the start, after the generated documents, after the byte-level mutations); "
        f"{(rss[-1] - rss[-2]) / max(rss[-2], 1):+.0%} over the second half, "
        "so the growth is warm-up in the first half (among it the caches of parsed and validated documents, 512 each), not a leak; "
        "alive at the end.",
        "",
        "| role | answer (status, first error code) | cases |",
        "|---|---|---:|",
    ]
    for (role, outcome), n in sorted(outcomes.items(), key=lambda kv: (kv[0][0], -kv[1])):
        lines.append(f"| {role} | {outcome} | {n:,} |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def callers(rig: Rig) -> Iterator[dict[str, Caller]]:
    viewer = create_token(scrubbed(rig.env), subject="fuzz-viewer", role="viewer")
    made = {
        "admin": Caller(rig, rig.token, frozenset({"*"})),
        "viewer": Caller(rig, viewer, BUILTIN_GRANTS["viewer"]),
        "anonymous": Caller(rig, None, frozenset()),
    }
    yield made
    for caller in made.values():
        caller.client.close()


@pytest.fixture(scope="module")
def needs() -> dict[str, dict[str, frozenset[str]]]:
    schema = build_schema()
    return {kind: declared_permissions(schema, kind) for kind in ("Query", "Mutation")}


def check(
    caller: Caller,
    role: str,
    document: str,
    needs: dict[str, dict[str, frozenset[str]]],
    *,
    raw: bytes | None = None,
) -> None:
    content = raw if raw is not None else json.dumps({"query": document}).encode()
    response = caller.client.post(
        "/graphql", content=content, headers={"Content-Type": "application/json"}
    )
    text = response.text
    test = "bytes" if raw is not None else "generated"
    try:
        first = (response.json().get("errors") or [{}])[0].get("extensions", {}).get("code")
    except (ValueError, AttributeError):
        first = None
    STATS[(test, role, f"{response.status_code} {first or 'data'}")] += 1
    assert response.status_code < 500, (response.status_code, text[:500])
    assert not LEAKS.search(text), text[:500]
    try:
        body = response.json()
    except ValueError:
        return  # a non-JSON answer (e.g. GraphiQL's page) was checked for leaks above
    codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
    assert "INTERNAL" not in codes, body
    if role == "admin" or raw is not None:
        return
    data = body.get("data")
    if not isinstance(data, dict):
        return
    for key, kind, field in _root_fields(document):
        granted = "*" in caller.permissions or (
            needs[kind].get(field, frozenset()) & caller.permissions
        )
        if needs[kind].get(field) and not granted:
            assert data.get(key) is None, f"{role} got {kind}.{field}: {data.get(key)!r}"
        if role == "anonymous":
            assert data.get(key) is None, f"anonymous got {kind}.{field}"


def _root_fields(document: str) -> Iterator[tuple[str, str, str]]:
    """(response key, root type, field name) of each root field, through fragments."""
    try:
        ast = parse(document)
    except GraphQLSyntaxError:
        return
    fragments = {d.name.value: d for d in ast.definitions if isinstance(d, FragmentDefinitionNode)}
    for op in ast.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        kind = op.operation.value.capitalize()
        if kind not in ("Query", "Mutation"):
            continue
        stack, seen = list(op.selection_set.selections), set()
        while stack:
            node = stack.pop()
            if isinstance(node, FieldNode):
                key = node.alias.value if node.alias else node.name.value
                if not node.name.value.startswith("__"):
                    yield key, kind, node.name.value
            elif isinstance(node, InlineFragmentNode):
                stack.extend(node.selection_set.selections)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                if node.name.value in fragments:
                    stack.extend(fragments[node.name.value].selection_set.selections)


DOCUMENTS = st.one_of(
    hypothesis_graphql.from_schema(SDL, custom_scalars=SCALARS),
    hypothesis_graphql.from_schema(
        SDL, custom_scalars=SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE
    ),
)
FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@FUZZ
@given(document=DOCUMENTS, role=st.sampled_from(ROLES))
def test_generated_documents(
    rig: Rig, callers: dict[str, Caller], needs: Any, document: str, role: str
) -> None:
    check(callers[role], role, document, needs)


VALID = [
    "{ me { subject roles } access { roles { name } } }",
    "query Q($n: Int!) { revenue { customers(first: $n) { nodes { name } } } }",
    "{ usage { overview(days: 7) { requests cost } } traffic { routers(first: 3) { nodes { name } } } }",
    'mutation { createRole(input: {name: "fz", inherits: ["viewer"]}) { ... on Role { name } } }',
]


@FUZZ
@given(
    base=st.sampled_from(VALID),
    edits=st.lists(st.tuples(st.integers(0, 400), st.binary(max_size=4)), max_size=6),
    role=st.sampled_from(ROLES),
    wrap=st.booleans(),
)
def test_byte_level_mutations(
    rig: Rig,
    callers: dict[str, Caller],
    needs: Any,
    base: str,
    edits: list[tuple[int, bytes]],
    role: str,
    wrap: bool,
) -> None:
    raw = base.encode()
    for at, chunk in edits:
        at %= len(raw) + 1
        raw = raw[:at] + chunk + raw[at + len(chunk) // 2 :]
    body = json.dumps({"query": raw.decode("utf-8", "replace"), "variables": {"n": 3}}).encode()
    check(callers[role], role, "", needs, raw=body if wrap else raw)
