"""GraphiQL in a real (headless, offline) Chromium against a gateway that runs only trusted
documents: an admin still runs a query (the trusted text; anything with
``trusted-except-admins``), and a viewer's free-form query is refused with its code."""

from __future__ import annotations

import asyncio
import json

import pytest

from gateway.documents import ManifestDocument
from gateway.settings import WebSettings
from tests.plugins.app import GatewayFactory
from tests.test_graphiql_browser import _Browser, _browser_paths

ME = "query Me {\n  me {\n    subject\n  }\n}"
FREE_FORM = "{ me { subject roles } }"


def _run(
    chromium: str, chromedriver: str, url: str, token: str, runs: list[tuple[str, str]]
) -> list[str]:
    """The result pane's text for each (query, text to wait for), in one browser session."""
    with _Browser(chromium, chromedriver) as browser:
        browser.keep_token(url, token)
        browser.open_graphiql(f"{url}/graphql")
        return [browser.run_query(query, expect) for query, expect in runs]


@pytest.mark.browser
async def test_graphiql_with_trusted_documents(live_gateway_factory: GatewayFactory) -> None:
    chromium, chromedriver = _browser_paths()
    gw = await live_gateway_factory(web=WebSettings(documents="trusted"))
    doc = ManifestDocument(id="me-v1", body=ME, name="Me", type="query")
    await gw.services.documents.registry.import_documents([doc], source="test")
    viewer = await gw.token("viewer")

    admin_run, admin_free = await asyncio.to_thread(
        _run, chromium, chromedriver, gw.url, gw.admin_token,
        [(ME, '"subject"'), (FREE_FORM, "QUERY_NOT_IN_SAFELIST")],
    )  # fmt: skip
    assert json.loads(admin_run) == {"data": {"me": {"subject": "admin"}}}
    assert json.loads(admin_free)["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"

    (viewer_free,) = await asyncio.to_thread(
        _run, chromium, chromedriver, gw.url, viewer, [(FREE_FORM, "QUERY_NOT_IN_SAFELIST")]
    )
    refused = json.loads(viewer_free)
    assert "data" not in refused
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_NOT_IN_SAFELIST"

    exempt = await live_gateway_factory(web=WebSettings(documents="trusted-except-admins"))
    (admin_any,) = await asyncio.to_thread(
        _run, chromium, chromedriver, exempt.url, exempt.admin_token, [(FREE_FORM, '"roles"')]
    )
    assert json.loads(admin_any)["data"]["me"]["roles"] == ["admin"]
