"""Every root field of ``schema.graphql``, for every built-in role and anonymous (issue 10.4).

The expected table below is written from DESIGN §5 (queries need ``read`` of their resource;
mutations ``write``/``delete``/``execute`` as fits) and checked two ways: it must list exactly
the root fields of the committed SDL, and agree with the guard each field declares in code.
Each role's effective permissions are worked out here from ``BUILTIN_GRANTS`` and the
inheritance chain, independently of ``gateway/auth/rbac.py``. Then every operation is sent
with a token holding exactly that role (or none): a denied field answers null with a
FORBIDDEN error at its path and leaves the store exactly as it was; an allowed one is not
refused (typed errors, BAD_USER_INPUT, NOT_FOUND, NOT_CONFIGURED are fine).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.app import create_app
from gateway.auth.permissions import ALL_PERMISSIONS, BUILTIN_GRANTS, BUILTIN_ROLES
from schema import build_schema
from tests.plugins.app import Gateway, make_settings
from tests.plugins.ws import TRANSPORT_WS, recv_type, refusal, send, session, subscribe, ws_url
from tests.security.matrix_ops import (
    ROOT_TYPES,
    Operation,
    declared_permissions,
    operation,
    root_fields,
    snapshot,
)

ANONYMOUS = "anonymous"
SIGNED_IN: frozenset[str] = frozenset()  # no permission needed, a valid credential is enough


def needs(*keys: str) -> frozenset[str]:
    """Any one of these permissions lets the caller in."""
    return frozenset(keys)


EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    "query": {
        "me": SIGNED_IN,
        "access": needs("access:read"),
        "agents": needs("agents:read"),
        "providers": needs("providers:read"),
        "usage": needs("usage:read"),
        "traffic": needs("services:read", "containers:read", "certificates:read"),
        "revenue": needs("revenue:read"),
        "models": needs("models:read"),
    },
    "mutation": {
        "createRole": needs("access:write"),
        "updateRole": needs("access:write"),
        "deleteRole": needs("access:delete"),
        "grantPermission": needs("access:write"),
        "revokePermission": needs("access:write"),
        "grantPermissions": needs("access:write"),
        "revokePermissions": needs("access:write"),
        "assignRole": needs("access:write"),
        "unassignRole": needs("access:write"),
        "createApiToken": needs("access:write"),
        "revokeApiToken": needs("access:write"),
        "createProvider": needs("providers:write"),
        "updateProvider": needs("providers:write"),
        # One's own with providers:write; others' need providers:delete (a typed error).
        "deleteProvider": needs("providers:write"),
        "toggleProvider": needs("providers:write"),
        "testProvider": needs("providers:execute"),
        "recordUsage": needs("usage:write"),
        "setModelPrice": needs("usage:write"),
        "applyDiscoveredRoute": needs("containers:write"),
        "reloadService": needs("services:execute"),
        "renewCertificate": needs("certificates:execute"),
        "renewCertificates": needs("certificates:execute"),
        "downloadModel": needs("models:execute"),
        "downloadModels": needs("models:execute"),
        "cancelDownload": needs("models:execute"),
        "resumeDownload": needs("models:execute"),
        "activateModel": needs("models:write"),
        "deleteModel": needs("models:delete"),
        "uploadModel": needs("models:write"),
        "updateModelSettings": needs("models:write"),
        "setHubToken": needs("models:write"),
    },
    "subscription": {
        "auditEvents": needs("access:read"),
        "usageEvents": needs("usage:read"),
        "usageTicker": needs("usage:read"),
        "renewalProgress": needs("certificates:read"),
        "downloadProgress": needs("models:read"),
    },
}

# Lowest first: each role holds its own grants and everything below it.
CHAIN = ("viewer", "analyst", "developer", "moderator", "admin")


def effective_grants() -> dict[str, frozenset[str]]:
    held: frozenset[str] = frozenset()
    effective: dict[str, frozenset[str]] = {}
    for role in CHAIN:
        held |= BUILTIN_GRANTS[role]
        effective[role] = held
    return effective


EFFECTIVE = effective_grants()
REFUSALS = {"FORBIDDEN", "UNAUTHENTICATED", "INTERNAL"}


def allowed(role: str, kind: str, field: str) -> bool:
    need = EXPECTED[kind][field]
    return role != ANONYMOUS and (need == SIGNED_IN or bool(need & EFFECTIVE[role]))


def codes(errors: list[dict[str, object]]) -> list[object]:
    return [e.get("extensions", {}).get("code") for e in errors]  # type: ignore[union-attr]


# From the SDL, not the table: a field missing from the table fails its cases too.
HTTP_CASES = [operation(kind, name) for kind in ("query", "mutation") for name in root_fields(kind)]
WS_CASES = [operation("subscription", name) for name in root_fields("subscription")]
PRINCIPALS = (*CHAIN, ANONYMOUS)


# -- the table itself ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ROOT_TYPES))
def test_table_lists_exactly_the_root_fields_of_schema_graphql(kind: str) -> None:
    in_sdl, in_table = set(root_fields(kind)), set(EXPECTED[kind])
    assert in_sdl - in_table == set(), f"{kind} fields without a matrix entry"
    assert in_table - in_sdl == set(), f"matrix entries for {kind} fields that do not exist"


@pytest.mark.parametrize("kind", list(ROOT_TYPES))
def test_table_follows_the_spec_and_the_guards_declared_in_code(kind: str) -> None:
    for field, need in EXPECTED[kind].items():
        actions = {key.split(":")[1] for key in need}
        if kind == "mutation":
            assert actions and "read" not in actions, field
        else:
            assert actions <= {"read"}, field
    assert declared_permissions(build_schema(), ROOT_TYPES[kind]) == EXPECTED[kind]


def test_effective_grants_follow_the_builtin_chain() -> None:
    assert tuple(reversed(BUILTIN_ROLES)) == CHAIN
    for lower, higher in itertools.pairwise(CHAIN):
        assert EFFECTIVE[lower] < EFFECTIVE[higher], (lower, higher)
    assert EFFECTIVE["admin"] == ALL_PERMISSIONS
    assert "access:read" not in EFFECTIVE["viewer"]
    assert "access:delete" not in EFFECTIVE["moderator"]


# -- queries and mutations over HTTP, one gateway per principal ------------------------


@dataclass
class Caller:
    gw: Gateway
    role: str
    token: str | None


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=PRINCIPALS)
async def caller(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Caller]:
    """A gateway of its own per principal, so what one role's allowed mutations change
    cannot reach another role's cases."""
    role: str = request.param
    settings = make_settings(tmp_path_factory.mktemp(f"matrix-{role}"))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client,
    ):
        admin, _ = await app.state.services.tokens.create(
            subject="admin", roles=["admin"], expires_in=3600
        )
        gw = Gateway(app=app, client=client, settings=settings, admin_token=admin)
        token = None if role == ANONYMOUS else await gw.token(role, subject=f"matrix-{role}")
        yield Caller(gw=gw, role=role, token=token)


async def store_state(gw: Gateway) -> dict[str, object]:
    return await snapshot(gw.services.store, gw.settings.store_url)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("op", HTTP_CASES, ids=lambda op: op.field)
async def test_root_field_over_http(caller: Caller, op: Operation) -> None:
    gw, role = caller.gw, caller.role
    if caller.token is not None:  # its last use recorded now, not by the request under test
        await gw.data("{ __typename }", token=caller.token)
    before = await store_state(gw)
    response = await gw.post(op.query, op.variables, token=caller.token)
    body = response.json()
    errors = body.get("errors") or []
    data = body.get("data") or {}

    if caller.token is None:
        assert response.status_code == 401, body
        assert codes(errors) == ["UNAUTHENTICATED"] and not data, body
        assert await store_state(gw) == before, "an anonymous request changed the store"
    elif not allowed(role, op.kind, op.field):
        assert response.status_code == 200, body
        assert [(e["extensions"]["code"], e.get("path")) for e in errors] == [
            ("FORBIDDEN", [op.field])
        ], body
        assert data.get(op.field) is None, body
        assert await store_state(gw) == before, f"denied {op.field} changed the store"
    else:
        assert response.status_code == 200, body
        assert not REFUSALS & set(codes(errors)), body
        explained = any(e.get("path") == [op.field] for e in errors)
        # Null only when an error (NOT_CONFIGURED, BAD_USER_INPUT...) says why.
        assert data.get(op.field) is not None or explained, body


# -- subscriptions over a real websocket -----------------------------------------------


@pytest.mark.parametrize("principal", PRINCIPALS)
@pytest.mark.parametrize("op", WS_CASES, ids=lambda op: op.field)
async def test_subscription_over_websocket(
    live_gateway: Gateway, op: Operation, principal: str
) -> None:
    gw = live_gateway
    if principal == ANONYMOUS:
        await anonymous_subscription_is_closed(gw, op)
        return
    token = await gw.token(principal, subject=f"matrix-{principal}")
    async with session(gw, token) as ws:
        await subscribe(ws, op.query, op.variables)
        if not allowed(principal, op.kind, op.field):
            errors = await refusal(ws)
            assert codes(errors) == ["FORBIDDEN"], errors
            return
        try:  # the first message, if one comes soon, must not be a refusal
            message = await recv_type(ws, "next", "error", "complete", wait=0.3)
        except TimeoutError:
            return  # subscribed and waiting for events: not refused
        payload = message.get("payload")
        errors = payload if isinstance(payload, list) else (payload or {}).get("errors") or []
        assert not REFUSALS & set(codes(errors)), message


async def anonymous_subscription_is_closed(gw: Gateway, op: Operation) -> None:
    """No credential in ``connection_init``: closed with 4403, no ack, nothing streamed."""
    received: list[dict[str, object]] = []
    async with connect(ws_url(gw), subprotocols=[TRANSPORT_WS]) as ws:
        with pytest.raises(ConnectionClosed):  # the server may close before the subscribe
            await send(ws, {"type": "connection_init", "payload": {}})
            await subscribe(ws, op.query, op.variables)
            while True:
                received.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
    assert ws.close_code == 4403, received
    assert not [m for m in received if m.get("type") in ("connection_ack", "next")], received
