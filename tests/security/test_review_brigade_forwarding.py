"""Hostile review, Brigade token forwarding: an OIDC bearer with CR/LF, control characters or
an absurd length must neither inject headers nor break requests, and what Brigade receives
is exactly the verified token. Brigade is its sandbox served over HTTP, behind a recorder of
the request headers it received."""

from __future__ import annotations

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.auth.principal import AuthKind, Principal
from gateway.backends.brigade.caller import Caller
from gateway.errors import Unauthenticated
from gateway.sandbox.brigade import BrigadeSandbox
from tests.auth.jwks_server import AUDIENCE, ISSUER
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.oidc import IdP
from tests.plugins.servers import ServeApp
from tests.plugins.ws import TRANSPORT_WS, recv, send, ws_url
from tests.security.review_env import HeaderRecorder

LIMIT = 16 * 1024
"""The longest token forwarded (gateway/backends/brigade/caller.py)."""
USAGE = "{ me { subject } agents { usage { agentCount } } }"
INJECTED = ["\r\nX-Injected: 1", "\nX-Injected: 1", "\x00", "\x7f", "\x1b[2J", "\u2028", "é"]


async def _setup(
    serve_app: ServeApp, factory: GatewayFactory, idp: IdP
) -> tuple[BrigadeSandbox, HeaderRecorder, Gateway]:
    brigade = BrigadeSandbox(
        jwt_keys=[idp.key.public_pem()], jwt_issuer=ISSUER, jwt_audience=AUDIENCE
    )
    recorder = HeaderRecorder(brigade)
    url = await serve_app(recorder)
    gw = await factory(
        brigade_api_url=url, brigade_api_key=brigade.api_key, oidc=idp.settings, backend_timeout=2.0
    )
    return brigade, recorder, gw


async def test_brigade_receives_exactly_the_verified_token(
    serve_app: ServeApp, gateway_factory: GatewayFactory, idp: IdP
) -> None:
    brigade, recorder, gw = await _setup(serve_app, gateway_factory, idp)
    token = idp.token("alice", "viewer")
    body = await gw.gql(USAGE, token=token)
    assert "errors" not in body, body
    assert recorder.values(b"authorization") == [f"Bearer {token}".encode()]
    for headers in recorder.seen:  # the token appears in that one header and nowhere else
        others = [v for k, v in headers if k != b"authorization"]
        assert not any(token.encode() in v for v in others)
        assert not any(k.startswith(b"x-injected") for k, _ in headers)
    assert brigade.api_key.encode() not in b"".join(recorder.values(b"authorization"))


@pytest.mark.parametrize("junk", INJECTED)
@pytest.mark.parametrize("where", ["suffix", "signature", "header"])
async def test_tainted_tokens_never_reach_brigade(
    serve_app: ServeApp, gateway_factory: GatewayFactory, idp: IdP, junk: str, where: str
) -> None:
    brigade, recorder, gw = await _setup(serve_app, gateway_factory, idp)
    token = idp.token("alice", "viewer")
    head, payload, signature = token.split(".")
    tainted = {
        "suffix": token + junk,
        "signature": f"{head}.{payload}.{signature[:10]}{junk * 4}{signature[10:]}",
        "header": f"{head[:5]}{junk}{head[5:]}.{payload}.{signature}",
    }[where]
    value = f"Bearer {tainted}".encode()
    response = await gw.client.post(
        "/graphql", json={"query": USAGE}, headers=[(b"authorization", value)]
    )
    assert response.status_code == 401, response.text
    assert recorder.seen == [] and brigade.callers == {}


async def test_tainted_tokens_on_a_websocket_never_reach_brigade(
    serve_app: ServeApp, live_gateway_factory: GatewayFactory, idp: IdP
) -> None:
    """A ``connection_init`` payload is JSON, so any character can sit in the token there."""
    brigade, recorder, gw = await _setup(serve_app, live_gateway_factory, idp)
    token = idp.token("alice", "viewer")
    accepted = []
    for junk in INJECTED:
        async with connect(ws_url(gw), subprotocols=[TRANSPORT_WS]) as ws:
            init = {"Authorization": f"Bearer {token}{junk}"}
            await send(ws, {"type": "connection_init", "payload": init})
            await send(ws, {"id": "1", "type": "subscribe", "payload": {"query": USAGE}})
            try:
                while (message := await recv(ws))["type"] != "next":
                    pass
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4403, (junk, closed)
            else:
                assert message["payload"]["data"]["me"] == {"subject": "alice"}, message
                accepted.append(junk)
    # A bearer token is visible ASCII only (no Unicode space is taken for the whitespace
    # around it): every tainted one is refused, and Brigade never sees any.
    assert accepted == []
    assert recorder.values(b"authorization") == []
    assert brigade.callers == {}


async def test_an_absurdly_long_token_is_refused_not_forwarded(
    serve_app: ServeApp, gateway_factory: GatewayFactory, idp: IdP
) -> None:
    brigade, recorder, gw = await _setup(serve_app, gateway_factory, idp)
    token = idp.token("alice", "viewer", padding="x" * (LIMIT * 4))
    response = await gw.post(USAGE, token=token)
    # The gateway refuses a bearer over 16 KiB before parsing it (gateway/auth/authenticator).
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert token not in response.text
    assert recorder.seen == [] and brigade.callers == {}  # and never the service key instead


@pytest.mark.parametrize(
    "bearer",
    [
        "aaa.bbb.ccc\r\nX-Injected: 1",
        "aaa.bbb.ccc\n",
        "aaa.bbb.c\x00cc",
        "aaa.bbb",
        "aaa.bbb.ccc.ddd",
        "Bearer aaa.bbb.ccc",
        "aaa.bbb.ccc " * 3,
        "a" * LIMIT + ".b.c",
    ],
)
def test_a_caller_cannot_carry_a_token_that_is_not_a_compact_jwt(bearer: str) -> None:
    principal = Principal(
        subject="alice", roles=frozenset({"viewer"}), kind=AuthKind.OIDC, bearer=bearer
    )
    with pytest.raises(Unauthenticated):
        Caller.of(principal)
    with pytest.raises(Unauthenticated):
        Caller(identity="x", bearer=bearer)


def test_a_compact_jwt_is_forwarded_as_it_is() -> None:
    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLV8"
    principal = Principal(
        subject="alice", roles=frozenset({"viewer"}), kind=AuthKind.OIDC, bearer=token
    )
    caller = Caller.of(principal)
    assert caller.headers() == {"Authorization": f"Bearer {token}"}
    assert token not in caller.identity and token not in repr(caller)
