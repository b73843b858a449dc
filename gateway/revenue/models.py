"""What the revenue domain hands the schema: Lago's customers, plans, subscriptions and
invoices as the Lago client parsed them (lists and nested objects alike)."""

from __future__ import annotations

from gateway.backends.lago.models import LagoCustomer, LagoInvoice, LagoPlan, LagoSubscription

__all__ = ["LagoCustomer", "LagoInvoice", "LagoPlan", "LagoSubscription"]
