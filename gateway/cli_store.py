"""``ops-gateway migrate [--check]`` and ``ops-gateway store copy --from URL --to URL``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import urlsplit

from gateway.settings import Settings


async def _migrate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    scheme = urlsplit(settings.store_url).scheme.lower()
    if scheme not in ("postgresql", "postgres"):
        # SQLite creates its tables on open, Redis has no schema: nothing can be behind.
        print(f"{scheme or 'the'} store has no migrations to apply: up to date")
        return 0
    import asyncpg

    from gateway.store.postgres_schema import LATEST, current_version, migrate

    conn = await asyncpg.connect(settings.store_url, timeout=10)
    try:
        current = await current_version(conn)
        if args.check:
            if current < LATEST:
                print(f"behind: the database is at {current}, the gateway needs {LATEST}")
                return 1
            print(f"up to date: {current}")
            return 0
        applied = await migrate(conn)
    finally:
        await conn.close()
    print(f"applied {applied}, now at {LATEST}" if applied else f"up to date: {LATEST}")
    return 0


async def _copy(args: argparse.Namespace) -> int:
    from gateway.store import open_store
    from gateway.store.copy import TargetNotEmpty, copy_store

    settings = Settings.from_env()
    source = open_store(args.source, redis_prefix=settings.redis_prefix)
    target = open_store(args.target, redis_prefix=settings.redis_prefix)
    await source.open()
    try:
        await target.open()
        try:
            report = await copy_store(source, target, force=args.force)
        finally:
            await target.close()
    except TargetNotEmpty as exc:
        print(f"ops-gateway: {exc}", file=sys.stderr)
        return 2
    finally:
        await source.close()
    for line in report.lines():
        print(line)
    if report.mismatches:
        print("copy NOT verified: " + "; ".join(report.mismatches), file=sys.stderr)
        return 1
    print("copied and verified")
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    migrate = sub.add_parser("migrate", help="apply (or --check) the store's migrations")
    migrate.add_argument(
        "--check", action="store_true", help="exit 1 when the database is behind, change nothing"
    )
    migrate.set_defaults(func=lambda a: asyncio.run(_migrate(a)))

    store = sub.add_parser("store", help="store administration")
    ssub = store.add_subparsers(dest="store_command", required=True)
    copy = ssub.add_parser(
        "copy", help="copy every collection, log and counter into another (empty) store"
    )
    copy.add_argument("--from", dest="source", required=True, metavar="URL")
    copy.add_argument("--to", dest="target", required=True, metavar="URL")
    copy.add_argument("--force", action="store_true", help="copy into a store that has data")
    store.set_defaults(func=lambda a: asyncio.run(_copy(a)))
