"""The whole gateway on PostgreSQL: access control, tokens and usage through real HTTP."""

from __future__ import annotations

import pytest

from tests.plugins.app import GatewayFactory
from tests.plugins.stores import _create_schema
from tests.usage.helpers import event, post_events

pytestmark = pytest.mark.postgres


async def test_the_gateway_runs_on_postgresql(
    gateway_factory: GatewayFactory, postgres_url: str, postgres_schema: str
) -> None:
    await _create_schema(postgres_url, postgres_schema)
    gw = await gateway_factory(store_url=f"{postgres_url}?search_path={postgres_schema}")
    assert type(gw.services.store).__name__ == "PostgresStore"
    created = await gw.data(
        'mutation { createRole(input: {name: "pg-ops", inherits: ["viewer"]}) '
        '{ ... on Role { name } } assignRole(subject: "carol", role: "pg-ops") '
        "{ ... on SubjectRoles { roles } } }"
    )
    assert created["createRole"] == {"name": "pg-ops"}
    assert created["assignRole"]["roles"] == ["pg-ops"]
    token = await gw.token("developer")
    accepted = await post_events(gw.client, [event(1), event(2), event(1)], token)
    assert (accepted["accepted"], accepted["duplicate_ids"]) == (2, ["ev-1"])
    overview = await gw.data("{ usage { overview(days: 1) { requests } } }")
    assert overview["usage"]["overview"]["requests"] == 2
    audit = await gw.data("{ access { auditLog(first: 5) { totalCount } } }")
    assert audit["access"]["auditLog"]["totalCount"] >= 2
    ready = await gw.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["store"]["ok"] is True
