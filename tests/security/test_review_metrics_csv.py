"""Hostile review, the metrics CSV export: metric names, label names and label values come
from Traefik (and, through router and service names, from container labels). No cell of
the export may start like a spreadsheet formula; genuine negative numbers stay numbers."""

from __future__ import annotations

import csv
import io

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from tests.plugins.app import GatewayFactory
from tests.plugins.servers import ServeApp

# UTF-8 metric and label names are quoted in the exposition format (prometheus_client parses
# them), so even the metric and label-name cells are attacker-chosen.
HOSTILE = """\
# TYPE traefik_service_requests_total counter
traefik_service_requests_total{service="=HYPERLINK(\\"http://evil.example\\")"} 5
{"=cmd|' /C calc'!A0", service="a"} 1
{"+SUM(1+1)"} 2
{"-2+3"} 3
{"@SUM(A1)"} 4
{"\tTAB", x="1"} 6
{"\rCR"} 7
{"\uff1dFULLWIDTH"} 8
traefik_gauge{"=label"="v"} -5
traefik_gauge{"+label"="v"} -0.25
traefik_gauge{"-label"="v"} -0.00001
traefik_gauge{"@label"="v"} -Inf
traefik_gauge{plain="v"} NaN
traefik_gauge{plain="w"} +Inf
traefik_gauge{plain="row\r=HYPERLINK(1)"} 9
"""
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d")
"""OWASP's formula triggers, plus a line feed and a full-width equals sign."""
QUERY = "{ traffic { metrics(format: CSV) { contentType samples body } } }"


async def _export(serve_app: ServeApp, gateway_factory: GatewayFactory) -> list[dict[str, str]]:
    async def metrics(request: Request) -> PlainTextResponse:
        return PlainTextResponse(HOSTILE)

    url = await serve_app(Starlette(routes=[Route("/metrics", metrics)]))
    gw = await gateway_factory(traefik_api_url=url)
    exported = (await gw.data(QUERY))["traffic"]["metrics"]
    assert exported["contentType"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported["body"])))
    assert len(rows) == exported["samples"] == 15  # no cell broke into a new row
    return rows


async def test_no_cell_starts_like_a_formula(
    serve_app: ServeApp, gateway_factory: GatewayFactory
) -> None:
    rows = await _export(serve_app, gateway_factory)
    for row in rows:
        for column in ("metric", "labels", "unit"):
            assert not row[column].startswith(TRIGGERS), (column, row)
    metrics = {row["metric"] for row in rows}
    assert {
        "'=cmd|' /C calc'!A0",
        "'+SUM(1+1)",
        "'-2+3",
        "'@SUM(A1)",
        "'\tTAB",
        "'\rCR",
        "'\uff1dFULLWIDTH",
    } <= metrics
    labels = {row["labels"] for row in rows}
    assert {"'=label=v", "'+label=v", "'-label=v", "'@label=v"} <= labels
    # Inside a cell (not at its start) the text is kept as it was; a CR inside one is
    # quoted, so it cannot start a row of its own with a formula.
    assert 'service==HYPERLINK("http://evil.example")' in labels
    assert "plain=row\r=HYPERLINK(1)" in labels


async def test_negative_numbers_stay_numbers(
    serve_app: ServeApp, gateway_factory: GatewayFactory
) -> None:
    rows = await _export(serve_app, gateway_factory)
    values = {row["labels"]: row["value"] for row in rows if row["metric"] == "traefik_gauge"}
    assert values["'=label=v"] == "-5"
    assert values["'+label=v"] == "-0.25"
    assert values["'-label=v"] == "-1e-05"
    assert float(values["'-label=v"]) == -0.00001
    assert values["'@label=v"] == "'-inf"  # not a number a spreadsheet reads: quoted
    assert values["plain=v"] == "nan" and values["plain=w"] == "inf"
    for row in rows:
        if row["value"] not in ("'-inf", "nan", "inf"):
            float(row["value"])  # every finite value parses as a number
        float(row["timestamp"])
