"""Retry policy for backend calls (DESIGN §8): which calls retry, on what, and after how long.

Only idempotent calls retry, on transport errors and :data:`RETRY_STATUSES`, with capped
exponential backoff and jitter, or after the backend's own ``Retry-After`` when it sends one.
"""

from __future__ import annotations

import email.utils
import random
import time

import httpx

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def retry_budget(method: str, idempotent: bool | None, retries: int) -> int:
    """Retries one call may make: ``idempotent=None`` means "judge by the method"."""
    return (
        retries if (idempotent if idempotent is not None else method in IDEMPOTENT_METHODS) else 0
    )


def retry_delay(
    attempt: int, response: httpx.Response | None, backoff: float, retry_after_cap: float
) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when a retry is not worth it.
    ``response`` is None when the attempt failed in transport, which is always worth a retry."""
    if response is not None and response.status_code not in RETRY_STATUSES:
        return None  # an answer, even an error, that asking again will not change
    if response is not None and response.status_code in (429, 503):
        after = parse_retry_after(response.headers.get("Retry-After"))
        if after is not None:
            # Waiting longer than the cap is worse than failing now: a whole GraphQL
            # query is waiting on this call.
            return after if after <= retry_after_cap else None
    base = min(backoff * 2**attempt, 2.0)
    return base / 2 + random.uniform(0, base / 2)  # "equal jitter"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP-date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
