"""Redis clients whose connection pools are bounded.

redis-py's default pool opens a connection for every command in flight and keeps it: under a
burst of concurrent requests each of a replica's Redis clients (store, pub/sub, rate limiter,
response cache, revenue share, Brigade cache) grew to the burst's size, and several replicas
times several workers could take a large share of the server's ``maxclients``. Here a client
holds at most ``max_connections`` (``MAX_CONNECTIONS`` unless ``REDIS_URL``'s query says
``?max_connections=N``); a command past that waits for a free connection for at most
``timeout`` seconds (the URL's ``?timeout=`` overrides), then fails with a ``RedisError``
that each caller already handles as a Redis outage.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

MAX_CONNECTIONS = 32
"""Per client and process; Redis answers one command at a time, so more buys little."""


def redis_client(url: str, *, timeout: float, **options: Any) -> Redis:
    """A client for ``url`` on a bounded pool that it owns (``aclose`` closes the pool).

    ``timeout`` bounds the wait for a pooled connection; ``options`` are redis-py's
    connection options (``socket_timeout``, ``client_name``...). Options in the URL's query
    win over both, as with ``Redis.from_url``.
    """
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=timeout, **options
    )
    return Redis.from_pool(pool)
