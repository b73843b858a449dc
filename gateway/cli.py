"""The ``ops-gateway`` command (DESIGN §3): serve, token, export-schema, keys, documents."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from gateway.cli_documents import add_commands as add_documents_commands
from gateway.cli_store import add_commands as add_store_commands
from gateway.errors import GatewayError
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.store.base import Store

log = logging.getLogger("gateway")


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped (``\\x1b``,
    ``\\n``): a token's subject or description must not move the cursor, clear the screen,
    retitle the terminal or forge lines in a listing or a log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class EscapingFormatter(logging.Formatter):
    """Log messages through :func:`printable`: one record, one line (tracebacks excepted)."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)


def app_from_env():
    from gateway.app import create_app

    return create_app(Settings.from_env())


@asynccontextmanager
async def _store(settings: Settings) -> AsyncIterator[Store]:
    """The configured store, open for one command."""
    from gateway.store import open_store

    store = open_store(
        settings.store_url,
        redis_prefix=settings.redis_prefix,
        pool_size=settings.store_pool_size,
    )
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def _bootstrap(settings: Settings, url: str) -> None:
    """On an empty store, create an admin token and print it once with the GraphiQL URL."""
    from gateway.auth.rbac import RBAC
    from gateway.auth.tokens import TokenService
    from gateway.store import names

    async with _store(settings) as store:
        await RBAC(store=store).ensure_builtins(now=time.time())
        tokens = TokenService(store=store)
        if await store.count(names.API_TOKENS) == 0 and await _claim_bootstrap(store):
            secret, token = await tokens.create(
                subject="bootstrap-admin",
                roles=["admin"],
                expires_in=90 * 86400,
                description="created by the first `ops-gateway serve`",
                created_by="ops-gateway",
            )
            expires = datetime.fromtimestamp(token.expires_at or 0, tz=UTC).date()
            print(
                "\nops-gateway: first start: created an admin API token (shown once, keep it):\n\n"
                f"    {secret}\n\n"
                f"  expires {expires}; make more with `ops-gateway token create`.\n"
                f"  GraphiQL: {url}/graphql  (in Headers: "
                '{"Authorization": "Bearer <token>"})\n',
                flush=True,
            )


async def _claim_bootstrap(store: Store) -> bool:
    """True for one process only: replicas starting together on an empty store would each
    create (and print) an admin token otherwise."""
    from gateway.errors import ConflictError

    try:
        await store.put("bootstrap", "admin-token", {"at": time.time()}, expected_version=0)
    except ConflictError:
        return False
    return True


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings.from_env()
    url = f"http://{'127.0.0.1' if args.host in ('0.0.0.0', '::') else args.host}:{args.port}"
    target, suite = "gateway.cli:app_from_env", None
    if args.sandbox:  # fake backends in this process; the app is built from the settings here
        from gateway.sandbox.suite import start_sandbox_mode

        suite, settings = start_sandbox_mode(settings)
        suite.point_webhooks_at(url)
        target, args.workers = (lambda: suite.create_app(settings)), 1
    try:
        asyncio.run(_bootstrap(settings, url))
        if args.workers > 1 and not settings.redis_url:
            log.warning(
                "--workers %d without REDIS_URL: subscriptions and rate limits are per worker",
                args.workers,
            )
        from gateway.protocol import GuardedHttpToolsProtocol

        uvicorn.run(
            target,
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            # JSON lines: our access log replaces uvicorn's, whose records reach our handler.
            access_log=settings.log_format != "json",
            log_config=None if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG,
            proxy_headers=True,
            http=GuardedHttpToolsProtocol,  # request heads have a deadline (slowloris)
        )
    finally:
        if suite is not None:
            suite.stop()
    return 0


async def _token(args: argparse.Namespace) -> int:
    from gateway.auth.rbac import RBAC
    from gateway.auth.tokens import TokenService, parse_duration

    async with _store(Settings.from_env()) as store:
        tokens = TokenService(store=store)
        if args.token_command == "create":
            rbac = RBAC(store=store)
            await rbac.ensure_builtins(now=time.time())
            unknown = set(args.role) - set((await rbac.graph()).roles)
            if unknown:
                print(f"unknown roles: {printable(', '.join(sorted(unknown)))}", file=sys.stderr)
                return 2
            secret, token = await tokens.create(
                subject=args.subject,
                roles=args.role,
                expires_in=parse_duration(args.expires_in),
                description=args.description,
                created_by="cli",
            )
            print(secret)
            print(
                f"id {token.id}, subject {printable(token.subject)}, "
                f"roles {printable(','.join(token.roles))}",
                file=sys.stderr,
            )
        elif args.token_command == "list":
            for t in await tokens.list(include_revoked=args.all):
                expires = _date(t.expires_at) if t.expires_at else "never"
                state = (
                    "revoked"
                    if t.revoked_at
                    else ("expired" if t.is_expired(time.time()) else "active")
                )
                used = _date(t.last_used_at) if t.last_used_at else "-"
                # Never the secret nor its hash (TokenService.list has neither); every field
                # escaped, so a hostile subject cannot forge columns, lines or escapes.
                fields = [t.id, t.subject, ",".join(t.roles), state]
                row = [*map(printable, fields), f"expires {expires}", f"last used {used}"]
                print("\t".join(row))
        elif args.token_command == "revoke":
            token = await tokens.revoke(args.id)
            print(f"revoked {token.id} ({printable(token.subject)})")
        return 0


def _date(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M")


def cmd_export_schema(args: argparse.Namespace) -> int:
    from schema import export_sdl

    sys.stdout.write(export_sdl())
    return 0


async def _keys_rotate(args: argparse.Namespace) -> int:
    from gateway.secrets import SecretBox, load_secret_keys, rotate_stored_secrets

    settings = Settings.from_env()
    keys, _ = load_secret_keys(configured=settings.secret_keys, data_dir=settings.data_dir)
    async with _store(settings) as store:
        count = await rotate_stored_secrets(store, SecretBox(keys=keys))
    print(f"re-encrypted {count} secrets under the first key")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ops-gateway", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the GraphQL API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="start every fake backend in-process with seeded data and use them (one worker)",
    )
    serve.set_defaults(func=cmd_serve)

    token = sub.add_parser("token", help="manage API tokens")
    tsub = token.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="create a token and print it (once)")
    create.add_argument("--subject", required=True)
    create.add_argument("--role", action="append", required=True, help="repeatable")
    create.add_argument("--expires-in", default="90d", help='e.g. 30d, 12h, "never"')
    create.add_argument("--description", default="")
    listing = tsub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    revoke = tsub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id")
    token.set_defaults(func=lambda a: asyncio.run(_token(a)))

    export = sub.add_parser("export-schema", help="print the GraphQL SDL")
    export.set_defaults(func=cmd_export_schema)

    keys = sub.add_parser("keys", help="manage the secret keys")
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    ksub.add_parser("rotate", help="re-encrypt stored secrets under the newest key")
    keys.set_defaults(func=lambda a: asyncio.run(_keys_rotate(a)))
    add_store_commands(sub)
    add_documents_commands(sub)
    return parser


def _log_format() -> str:
    try:
        return Settings.from_env().log_format
    except GatewayError:  # a bad setting is reported by the command that reads it
        return "text"


def main(argv: Sequence[str] | None = None) -> int:
    handler = logging.StreamHandler()
    if _log_format() == "json":
        from gateway.logformat import JsonFormatter

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(EscapingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # One INFO line per backend request drowns everything else; failures still log.
    for noisy in ("httpx", "httpx2", "httpcore", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GatewayError as exc:
        print(f"ops-gateway: {printable(exc.message)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
