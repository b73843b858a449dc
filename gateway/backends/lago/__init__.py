"""Lago billing: client, request-scoped loaders and wire models."""

from __future__ import annotations

from gateway.backends.lago.client import LagoClient
from gateway.backends.lago.events import LagoEvent
from gateway.backends.lago.models import (
    LagoCustomer,
    LagoInvoice,
    LagoMonthlyAmount,
    LagoPlan,
    LagoSubscription,
)

__all__ = [
    "LagoClient",
    "LagoCustomer",
    "LagoEvent",
    "LagoInvoice",
    "LagoMonthlyAmount",
    "LagoPlan",
    "LagoSubscription",
]
