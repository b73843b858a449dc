"""``ops-gateway migrate [--check]``: the store's schema migrations, applied or checked."""

from __future__ import annotations

import argparse
import asyncio
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


def add_commands(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    migrate = sub.add_parser("migrate", help="apply (or --check) the store's migrations")
    migrate.add_argument(
        "--check", action="store_true", help="exit 1 when the database is behind, change nothing"
    )
    migrate.set_defaults(func=lambda a: asyncio.run(_migrate(a)))
