"""GraphiQL served entirely by the gateway: no CDN, works with no internet.

The page (``page.html``) loads React 18, ReactDOM 18 and GraphiQL 3 (UMD builds vendored into
``static/`` by ``scripts/vendor-graphiql.sh``) and our ``boot.js`` from ``{assets}/...``. There
is no inline script, so the page's Content-Security-Policy is ``script-src 'self'``.

Wiring (``gateway.app``)::

    class GatewayGraphQL(strawberry.asgi.GraphQL):
        async def render_graphql_ide(self, request):
            return await render_graphiql(request)

    routes = [..., *graphiql_routes()]   # assets at /graphiql/...
"""

from __future__ import annotations

import hashlib
import html
from functools import cache
from pathlib import Path
from string import Template

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = [
    "ASSETS_PATH",
    "CONTENT_SECURITY_POLICY",
    "STATIC_DIR",
    "graphiql_html",
    "graphiql_routes",
    "render_graphiql",
]

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/graphiql"

# 'unsafe-inline' styles only: GraphiQL's dialogs (Radix) add <style> elements at run time.
# Scripts come from our origin only; fonts are data: URIs inside graphiql.min.css; connect-src
# 'self' covers the POSTs and the same-origin ws:/wss: subscription socket (CSP level 3).
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_IMMUTABLE = "public, max-age=31536000, immutable"
_SHORT = "public, max-age=3600"


@cache
def _template() -> Template:
    return Template((Path(__file__).parent / "page.html").read_text(encoding="utf-8"))


@cache
def _digest(name: str) -> str:
    return hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]


def _asset(assets: str, name: str) -> str:
    """URL of one asset, versioned by content so it can be cached for a year."""
    return f"{assets.rstrip('/')}/{name}?v={_digest(name)}"


def graphiql_html(*, endpoint: str = "/graphql", assets: str = ASSETS_PATH) -> str:
    """The GraphiQL page: assets from ``{assets}/...`` only, queries POSTed to ``endpoint``."""
    urls = {
        "graphiql_css": _asset(assets, "graphiql.min.css"),
        "page_css": _asset(assets, "page.css"),
        "react_js": _asset(assets, "react.production.min.js"),
        "react_dom_js": _asset(assets, "react-dom.production.min.js"),
        "graphiql_js": _asset(assets, "graphiql.min.js"),
        "boot_js": _asset(assets, "boot.js"),
    }
    values = {key: html.escape(url, quote=True) for key, url in urls.items()}
    values["endpoint"] = html.escape(endpoint, quote=True)
    return _template().substitute(values)


async def render_graphiql(
    request: Request, *, endpoint: str | None = None, assets: str = ASSETS_PATH
) -> HTMLResponse:
    """The page for a browser's ``GET /graphql``; queries go back to the path it was served at."""
    page = graphiql_html(endpoint=endpoint or request.url.path, assets=assets)
    return HTMLResponse(page, headers=_PAGE_HEADERS)


class _AssetFiles(StaticFiles):
    """StaticFiles with cache headers: a year for content-versioned URLs (``?v=``)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = _IMMUTABLE if versioned else _SHORT
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def graphiql_routes(path: str = ASSETS_PATH) -> list[BaseRoute]:
    """The route serving GraphiQL's JS/CSS from the package's ``static/`` directory."""
    return [Mount(path, app=_AssetFiles(directory=STATIC_DIR), name="graphiql")]
