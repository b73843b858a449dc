"""Persistence behind the :class:`Store` protocol; :func:`open_store` picks it from a URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from gateway.errors import ConfigurationError
from gateway.store.base import AppendResult, Document, LogEntry, Store
from gateway.store.postgres import PostgresStore
from gateway.store.redis import RedisStore
from gateway.store.sqlite import SQLiteStore

__all__ = [
    "AppendResult",
    "Document",
    "LogEntry",
    "PostgresStore",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "open_store",
    "sqlite_path",
]

_REDIS_SCHEMES = ("redis", "rediss", "unix")


def sqlite_path(url: str) -> str:
    """``sqlite:///rel/x.db`` -> ``rel/x.db``; ``sqlite:////abs/x.db`` -> ``/abs/x.db``."""
    if not url.startswith("sqlite:///"):
        raise ConfigurationError(
            f"GATEWAY_STORE {url!r}: a SQLite URL has three slashes and then the path, "
            "e.g. sqlite:///./ops-gateway.db or sqlite:////var/lib/ops-gateway/db.sqlite"
        )
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not path:
        raise ConfigurationError(f"GATEWAY_STORE {url!r}: the database path is empty")
    return path


def open_store(url: str, *, redis_prefix: str = "ogw:", pool_size: int = 10) -> Store:
    """Build (not yet open) the store ``url`` names; the caller awaits ``open()``/``close()``.

    ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db``,
    ``postgresql://user:pw@host:5432/db`` (also ``postgres://``) or
    ``redis://host:port/db`` (also ``rediss://`` and ``unix://``).
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return SQLiteStore(path=sqlite_path(url))
    if scheme in ("postgresql", "postgres"):
        return PostgresStore(dsn=url, pool_size=pool_size)
    if scheme in _REDIS_SCHEMES:
        return RedisStore(url=url, prefix=redis_prefix)
    raise ConfigurationError(
        f"GATEWAY_STORE {url!r}: unsupported scheme {scheme or '(none)'!r}; use "
        "sqlite:///path/to.db, postgresql://user@host:5432/db or redis://host:port/db"
    )
