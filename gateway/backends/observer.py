"""How backend calls are reported to metrics (DESIGN §8): the :class:`CallObserver` protocol
(``gateway.metrics`` implements it), the outcome labels, and the outcome of each failure.
"""

from __future__ import annotations

import logging
from typing import Literal, Protocol

from gateway.errors import (
    BackendError,
    BackendNotFound,
    BackendTimeout,
    BackendUnavailable,
    CircuitOpen,
)

log = logging.getLogger(__name__)

Outcome = Literal["ok", "error", "timeout", "unavailable", "circuit_open"]

# Most specific first. A 404 is "ok": the backend is fine, the thing asked for does not exist.
_OUTCOMES: tuple[tuple[type[BackendError], Outcome], ...] = (
    (BackendNotFound, "ok"),
    (CircuitOpen, "circuit_open"),
    (BackendTimeout, "timeout"),
    (BackendUnavailable, "unavailable"),
)


class CallObserver(Protocol):
    def on_call(self, *, backend: str, method: str, outcome: str, seconds: float) -> None: ...


def outcome_of(exc: BackendError) -> Outcome:
    return next((o for cls, o in _OUTCOMES if isinstance(exc, cls)), "error")


def notify(
    observer: CallObserver | None, backend: str, method: str, outcome: Outcome, seconds: float
) -> None:
    if observer is None:
        return
    try:
        observer.on_call(backend=backend, method=method, outcome=outcome, seconds=seconds)
    except Exception:  # metrics must never fail a call
        log.exception("call observer failed for %s", backend)
