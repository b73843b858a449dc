"""GraphiQL served by the gateway itself, checked offline in a real (headless) Chromium.

The browser tests drive Debian's chromium through selenium with Debian's chromedriver given
explicitly, so selenium-manager never downloads a driver or a browser. Chromium's network is
closed except to loopback, in two independent layers:

* ``--proxy-server=http://127.0.0.1:9`` sends every request through a "proxy" on the discard
  port, where nothing listens, so it fails; ``--proxy-bypass-list`` exempts 127.0.0.1 and
  localhost, which therefore go direct to the gateway.
* ``--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE ...`` makes every host name but the
  loopback ones unresolvable, for whatever does not go through the proxy (DNS prefetch,
  preconnects, background services).

So a page that still referenced a CDN would fail to render (and log console errors), and the
tests also assert from Chrome's network log that no request went anywhere but loopback.

The non-browser tests at the top check the page, the CSP and the vendored files cheaply.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from gateway.graphiql import (
    CONTENT_SECURITY_POLICY,
    STATIC_DIR,
    graphiql_html,
    graphiql_routes,
    render_graphiql,
)
from tests.plugins.app import Gateway

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_NAMES = ("chromium", "chromium-browser")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
PLACEHOLDER = "Bearer <paste your token>"
WAIT_SECONDS = 30.0


# --- the page and the vendored files (no browser) -----------------------------------------


class _AssetRefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(values[name] or "")
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if "style" in values or any(name.startswith("on") for name in values):
            self.inline_scripts += 1  # inline style/handler: would need CSP 'unsafe-*'


def _versions() -> dict[str, str]:
    """file name -> sha256 from static/VERSIONS.txt."""
    lines = (STATIC_DIR / "VERSIONS.txt").read_text().splitlines()
    found = [re.match(r"^([0-9a-f]{64})  (\S+)", line) for line in lines]
    return {m.group(2): m.group(1) for m in found if m}


def test_page_loads_only_local_assets_and_no_inline_script() -> None:
    parser = _AssetRefs()
    parser.feed(graphiql_html(endpoint="/api/graphql", assets="/static/gq"))
    assert parser.inline_scripts == 0
    assets = [url for url in parser.urls if url != "data:,"]
    assert len(assets) == 6
    for url in assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
        assert parts.path.startswith("/static/gq/"), url
        assert (STATIC_DIR / parts.path.removeprefix("/static/gq/")).is_file(), url
        assert re.fullmatch(r"v=[0-9a-f]{12}", parts.query), url
    assert 'data-endpoint="/api/graphql"' in graphiql_html(endpoint="/api/graphql")


def test_page_escapes_the_endpoint() -> None:
    page = graphiql_html(endpoint='/g"><script>alert(1)</script>')
    assert "<script>alert" not in page


def test_vendored_files_match_versions_txt() -> None:
    versions = _versions()
    assert {"graphiql.min.js", "react.production.min.js", "react-dom.production.min.js"} <= set(
        versions
    )
    for name, digest in versions.items():
        assert hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest() == digest, name
    total = sum(p.stat().st_size for p in STATIC_DIR.iterdir())
    assert total < 4 * 1024 * 1024


def test_render_graphiql_and_assets_headers() -> None:
    app = Starlette(routes=[Route("/graphql", render_graphiql), *graphiql_routes()])
    with TestClient(app) as client:
        page = client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "script-src 'self';" in CONTENT_SECURITY_POLICY
        assert 'data-endpoint="/graphql"' in page.text

        src = re.search(r'src="(/graphiql/graphiql\.min\.js\?v=[0-9a-f]+)"', page.text)
        assert src
        asset = client.get(src.group(1))
        assert asset.status_code == 200
        assert "javascript" in asset.headers["content-type"]
        assert "immutable" in asset.headers["cache-control"]
        assert client.get("/graphiql/boot.js").headers["cache-control"] == "public, max-age=3600"
        assert client.get("/graphiql/nope.js").status_code == 404


# --- the browser ----------------------------------------------------------------------------


def _browser_paths() -> tuple[str, str]:
    """(chromium, chromedriver), or skip (fail when CI=true) if either is missing."""
    chromium = next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    missing = [
        what
        for what, path in (("chromium", chromium), ("chromedriver", CHROMEDRIVER))
        if not path or not os.access(path, os.X_OK)
    ]
    if missing:
        reason = (
            f"{' and '.join(missing)} not installed (apt-get install chromium chromium-driver, "
            "or run .ci/install-browser.sh)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    assert chromium
    return chromium, CHROMEDRIVER


@dataclass
class _Browser:
    """One headless Chromium, offline but for loopback, with its console and network logs."""

    chromium: str
    chromedriver: str
    requested: list[str] = field(default_factory=list)
    driver: Any = None

    def __enter__(self) -> _Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = self.chromium
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--window-size=1400,900",
            # Offline but for loopback (see the module docstring for why both).
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1;localhost",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        service = Service(executable_path=self.chromedriver)
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT_SECONDS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.driver.quit()

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def wait_for(self, what: str, predicate: Any) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, WAIT_SECONDS, poll_frequency=0.1).until(
                lambda _driver: predicate()
            )
        except Exception as exc:
            raise AssertionError(
                f"timed out waiting for {what}; console: {self.console()}"
            ) from exc

    def console(self) -> list[dict[str, Any]]:
        """Console entries since the last call (reading drains Chrome's buffer)."""
        return list(self.driver.get_log("browser"))

    def console_errors(self) -> list[str]:
        return [entry["message"] for entry in self.console() if entry["level"] == "SEVERE"]

    def collect_requests(self) -> list[str]:
        """Every URL the page asked for (HTTP, WebSocket, data:) since the last call."""
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message["method"] == "Network.requestWillBeSent":
                self.requested.append(params["request"]["url"])
            elif message["method"] == "Network.webSocketCreated":
                self.requested.append(params["url"])
        resources = self.js("return performance.getEntriesByType('resource').map(e => e.name)")
        self.requested.extend(resources)
        return self.requested

    def editor_value(self, selector: str) -> str:
        return self.js(
            "const el = document.querySelector(arguments[0]);"
            "return el && el.CodeMirror ? el.CodeMirror.getValue() : null;",
            selector,
        )

    def header_editor_value(self) -> str:
        values = self.js(
            "return [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
            ".map(el => el.CodeMirror.getValue())"
        )
        return next((v for v in values if "Authorization" in v), "")

    def set_header_editor(self, text: str) -> None:
        self.js(
            "const el = [...document.querySelectorAll('.graphiql-editor-tool .CodeMirror')]"
            ".find(el => el.CodeMirror.getValue().includes('Authorization'));"
            "el.CodeMirror.setValue(arguments[0]);",
            text,
        )

    def run_query(self, query: str, expect: str, poke: Callable[[], None] | None = None) -> str:
        """Put query in the editor, click the execute button, return the result pane's text.

        ``poke`` (if any) is called every half second while waiting: a subscription that
        only answers to events gets them that way.
        """
        from selenium.webdriver.common.by import By

        self.js(
            "document.querySelector('.graphiql-query-editor .CodeMirror')"
            ".CodeMirror.setValue(arguments[0]);",
            query,
        )
        # GraphiQL parses the editor 100 ms after a change (debounced) and stores the query;
        # clicking before that would run the new text with the old parsed document, which
        # decides whether the operation goes over HTTP or the WebSocket.
        self.wait_for(
            "GraphiQL to parse the query",
            lambda: self.js("return localStorage.getItem('graphiql:query')") == query,
        )
        self.driver.find_element(By.CSS_SELECTOR, "button.graphiql-execute-button").click()

        poked = 0.0

        def result() -> str | None:
            nonlocal poked
            text = self.editor_value(".graphiql-response .CodeMirror") or ""
            if expect in text:
                return text
            if poke is not None and time.monotonic() - poked > 0.5:
                poked = time.monotonic()
                poke()
            return None

        return self.wait_for(f"{expect!r} in the result pane", result)

    def keep_token(self, url: str, token: str) -> None:
        """Put the token where GraphiQL persists its headers, from a same-origin page."""
        self.driver.get(f"{url}/graphiql/VERSIONS.txt")
        self.js(
            "localStorage.clear();"
            "localStorage.setItem('graphiql:headers', JSON.stringify(arguments[0]));",
            {"Authorization": f"Bearer {token}"},
        )

    def open_graphiql(self, url: str) -> None:
        self.driver.get(url)
        self.wait_for(
            "GraphiQL to render",
            lambda: self.js(
                "return !!document.querySelector('.graphiql-container') &&"
                " !!document.querySelector('.graphiql-query-editor .CodeMirror') &&"
                " !!document.querySelector('button.graphiql-execute-button')"
            ),
        )


def _assert_offline(requested: list[str]) -> None:
    assert requested, "no request was recorded"
    leaving = [
        url
        for url in requested
        if not url.startswith("data:") and urlsplit(url).hostname not in LOOPBACK_HOSTS
    ]
    assert not leaving, f"requests left 127.0.0.1: {leaving}"


@pytest.mark.browser
def test_browser_reaches_nothing_but_loopback() -> None:
    """The harness itself: a page elsewhere fails to load (so a CDN reference would show)."""
    from selenium.common.exceptions import WebDriverException

    chromium, chromedriver = _browser_paths()
    with _Browser(chromium, chromedriver) as browser:
        for url in ("http://example.com/", "https://cdn.jsdelivr.net/npm/graphiql/"):
            with pytest.raises(WebDriverException, match="ERR_"):
                browser.driver.get(url)


async def _graphql(
    gateway: Gateway, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await gateway.post(query, variables)
    response.raise_for_status()
    return response.json()


def _query_in_browser(chromium: str, chromedriver: str, base_url: str, token: str) -> str:
    """The whole browser session for one query; runs in a worker thread (selenium blocks)."""
    with _Browser(chromium, chromedriver) as browser:
        # 1. A fresh browser: the headers editor shows the placeholder for the token.
        browser.open_graphiql(f"{base_url}/graphql")
        assert PLACEHOLDER in browser.wait_for(
            "the headers editor", lambda: browser.header_editor_value()
        )
        # 2. Paste the token into the headers editor, as a person would.
        headers = json.dumps({"Authorization": f"Bearer {token}"}, indent=2)
        browser.set_header_editor(headers)
        browser.wait_for(
            "the headers to be persisted",
            lambda: token in (browser.js("return localStorage.getItem('graphiql:headers')") or ""),
        )
        # The first load's schema fetch went out with the placeholder, so the gateway refused
        # it; that 401 is the only console error allowed before the token was pasted.
        unexpected = [e for e in browser.console_errors() if " 401" not in e]
        assert not unexpected, f"console errors on first load: {unexpected}"

        # 3. Reload: the token survives (shouldPersistHeaders), the page loads cleanly.
        browser.open_graphiql(f"{base_url}/graphql")
        assert f"Bearer {token}" in browser.header_editor_value()
        result = browser.run_query("{ me { subject } }", '"subject"')
        # A dialog adds <style> elements at run time: the page's CSP must allow that.
        assert browser.js(
            "const b = document.querySelector('[aria-label=\"Open settings dialog\"]');"
            "if (b) b.click(); return !!b;"
        ), "no settings button"
        browser.wait_for(
            "the settings dialog",
            lambda: browser.js("return !!document.querySelector('.graphiql-dialog')"),
        )
        errors = browser.console_errors()
        assert not errors, f"JS console errors after loading with a token: {errors}"
        _assert_offline(browser.collect_requests())
        return result


@pytest.mark.browser
async def test_graphiql_runs_a_query_offline(live_gateway: Gateway) -> None:
    chromium, chromedriver = _browser_paths()
    page = await live_gateway.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers.get("content-security-policy", "")
    expected = (await _graphql(live_gateway, "{ me { subject } }"))["data"]["me"]["subject"]

    text = await asyncio.to_thread(
        _query_in_browser, chromium, chromedriver, live_gateway.url, live_gateway.admin_token
    )

    assert json.loads(text)["data"]["me"]["subject"] == expected


def _subscribe_in_browser(
    chromium: str,
    chromedriver: str,
    gateway: Gateway,
    query: str,
    poke: Callable[[], None] | None,
) -> tuple[str, list[str], list[str]]:
    """(result pane text, console errors, requested URLs) for one subscription."""
    with _Browser(chromium, chromedriver) as browser:
        browser.keep_token(gateway.url, gateway.admin_token)
        browser.console()  # drop the text page's favicon.ico 404
        browser.open_graphiql(f"{gateway.url}/graphql")
        text = browser.run_query(query, '"__typename"', poke)
        # The text page's /favicon.ico 404 may be logged late (after the drain above): it is
        # the harness's page, not GraphiQL's (which declares a data: icon).
        errors = [e for e in browser.console_errors() if "/favicon.ico" not in e]
        return text, errors, browser.collect_requests()


@pytest.mark.browser
async def test_graphiql_subscription_over_websocket(live_gateway: Gateway) -> None:
    """A subscription from the page: graphql-transport-ws on the same origin, token from the
    headers editor in connection_init, allowed by the page's CSP and the Origin check."""
    chromium, chromedriver = _browser_paths()
    schema = await _graphql(live_gateway, "{ __schema { subscriptionType { fields { name } } } }")
    subscription_type = schema["data"]["__schema"]["subscriptionType"] or {"fields": []}
    fields = {f["name"] for f in subscription_type["fields"]}
    loop = asyncio.get_running_loop()
    poke: Callable[[], None] | None = None
    if "usageTicker" in fields:  # ticks by itself
        field_name = "usageTicker"
        query = "subscription { usageTicker(intervalSeconds: 1) { __typename } }"
    elif "auditEvents" in fields:  # needs grant changes: create roles until one is seen
        field_name = "auditEvents"
        query = "subscription { auditEvents { __typename } }"
        created = itertools.count()
        create_role = "mutation($n: String!) { createRole(input: {name: $n}) { __typename } }"

        def poke() -> None:
            name = f"graphiql-ws-{next(created)}"
            future = asyncio.run_coroutine_threadsafe(
                _graphql(live_gateway, create_role, {"n": name}), loop
            )
            future.result(WAIT_SECONDS)

    else:
        pytest.skip("the schema has neither a usageTicker nor an auditEvents subscription")

    text, errors, requested = await asyncio.to_thread(
        _subscribe_in_browser, chromium, chromedriver, live_gateway, query, poke
    )

    assert json.loads(text)["data"][field_name]["__typename"], text
    assert not errors, f"JS console errors: {errors}"
    assert any(url.startswith("ws://") for url in requested), requested
    _assert_offline(requested)
