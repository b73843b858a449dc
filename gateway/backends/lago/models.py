"""Lago's wire objects (API v1), parsed strictly enough that a wrong shape is an error.

Only the fields the gateway uses are kept. :class:`WireError` means Lago answered JSON of the
wrong shape; the client turns it into a :class:`~gateway.errors.BackendError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

T = TypeVar("T")


class WireError(ValueError):
    """Lago answered with a body of an unexpected shape."""


_MISSING = object()


def _get(
    d: Mapping[str, Any], key: str, kind: type[T] | tuple[type, ...], *, null: bool = False
) -> Any:
    if not isinstance(d, dict):
        raise WireError(f"expected an object, got {type(d).__name__}")
    value = d.get(key, _MISSING)
    if value is None or value is _MISSING:
        if null:
            return None
        raise WireError(f"missing field {key!r}")
    if type(value) is kind:  # the common case, without isinstance's subclass walk
        return value
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise WireError(f"field {key!r} has type {type(value).__name__}")
    return value


def _str(d: Mapping[str, Any], key: str) -> str:
    return _get(d, key, str)


def _opt_str(d: Mapping[str, Any], key: str) -> str | None:
    return _get(d, key, str, null=True)


def _int(d: Mapping[str, Any], key: str) -> int:
    return _get(d, key, int)


def _opt_int(d: Mapping[str, Any], key: str) -> int | None:
    return _get(d, key, int, null=True)


def _time(d: Mapping[str, Any], key: str) -> datetime | None:
    raw = _opt_str(d, key)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise WireError(f"field {key!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(d: Mapping[str, Any], key: str) -> date | None:
    raw = _opt_str(d, key)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise WireError(f"field {key!r} is not a date") from None


@dataclass(frozen=True, slots=True)
class PageMeta:
    current_page: int
    next_page: int | None
    prev_page: int | None
    total_pages: int
    total_count: int

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> PageMeta:
        return cls(
            current_page=_int(d, "current_page"),
            next_page=_opt_int(d, "next_page"),
            prev_page=_opt_int(d, "prev_page"),
            total_pages=_int(d, "total_pages"),
            total_count=_int(d, "total_count"),
        )


@dataclass(frozen=True, slots=True)
class LagoCustomer:
    lago_id: str
    external_id: str
    name: str | None
    email: str | None = None
    currency: str | None = None
    country: str | None = None
    legal_name: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    timezone: str | None = None
    sequential_id: int | None = None
    created_at: datetime | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> LagoCustomer:
        return cls(
            lago_id=_str(d, "lago_id"),
            external_id=_str(d, "external_id"),
            name=_opt_str(d, "name"),
            email=_opt_str(d, "email"),
            currency=_opt_str(d, "currency"),
            country=_opt_str(d, "country"),
            legal_name=_opt_str(d, "legal_name"),
            firstname=_opt_str(d, "firstname"),
            lastname=_opt_str(d, "lastname"),
            timezone=_opt_str(d, "timezone"),
            sequential_id=_opt_int(d, "sequential_id"),
            created_at=_time(d, "created_at"),
        )


INTERVALS = frozenset({"weekly", "monthly", "quarterly", "semiannual", "yearly"})


@dataclass(frozen=True, slots=True)
class LagoPlan:
    lago_id: str
    code: str
    name: str
    interval: str
    amount_cents: int
    amount_currency: str
    description: str | None = None
    pay_in_advance: bool | None = None
    trial_period: float | None = None
    created_at: datetime | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> LagoPlan:
        interval = _str(d, "interval")
        if interval not in INTERVALS:
            raise WireError(f"unknown plan interval {interval!r}")
        trial = _get(d, "trial_period", (int, float), null=True)
        advance = _get(d, "pay_in_advance", bool, null=True)
        return cls(
            lago_id=_str(d, "lago_id"),
            code=_str(d, "code"),
            name=_str(d, "name"),
            interval=interval,
            amount_cents=_int(d, "amount_cents"),
            amount_currency=_str(d, "amount_currency"),
            description=_opt_str(d, "description"),
            pay_in_advance=advance,
            trial_period=float(trial) if trial is not None else None,
            created_at=_time(d, "created_at"),
        )


@dataclass(frozen=True, slots=True)
class LagoSubscription:
    lago_id: str
    external_id: str
    external_customer_id: str
    plan_code: str
    status: str
    name: str | None = None
    billing_time: str | None = None
    created_at: datetime | None = None
    subscription_at: datetime | None = None
    started_at: datetime | None = None
    terminated_at: datetime | None = None
    canceled_at: datetime | None = None
    ending_at: datetime | None = None
    previous_plan_code: str | None = None
    next_plan_code: str | None = None
    plan_amount_cents: int | None = None
    plan_amount_currency: str | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> LagoSubscription:
        return cls(
            lago_id=_str(d, "lago_id"),
            external_id=_str(d, "external_id"),
            external_customer_id=_str(d, "external_customer_id"),
            plan_code=_str(d, "plan_code"),
            status=_str(d, "status"),
            name=_opt_str(d, "name"),
            billing_time=_opt_str(d, "billing_time"),
            created_at=_time(d, "created_at"),
            subscription_at=_time(d, "subscription_at"),
            started_at=_time(d, "started_at"),
            terminated_at=_time(d, "terminated_at"),
            canceled_at=_time(d, "canceled_at"),
            ending_at=_time(d, "ending_at"),
            previous_plan_code=_opt_str(d, "previous_plan_code"),
            next_plan_code=_opt_str(d, "next_plan_code"),
            plan_amount_cents=_opt_int(d, "plan_amount_cents"),
            plan_amount_currency=_opt_str(d, "plan_amount_currency"),
        )


@dataclass(frozen=True, slots=True)
class LagoInvoice:
    lago_id: str
    number: str
    issuing_date: date
    invoice_type: str
    status: str
    payment_status: str
    currency: str
    fees_amount_cents: int
    taxes_amount_cents: int
    total_amount_cents: int
    payment_due_date: date | None = None
    payment_overdue: bool = False
    customer: LagoCustomer | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> LagoInvoice:
        issued = _date(d, "issuing_date")
        if issued is None:
            raise WireError("missing field 'issuing_date'")
        customer = d.get("customer") if isinstance(d, Mapping) else None
        return cls(
            lago_id=_str(d, "lago_id"),
            number=_str(d, "number"),
            issuing_date=issued,
            invoice_type=_str(d, "invoice_type"),
            status=_str(d, "status"),
            payment_status=_str(d, "payment_status"),
            currency=_str(d, "currency"),
            fees_amount_cents=_int(d, "fees_amount_cents"),
            taxes_amount_cents=_int(d, "taxes_amount_cents"),
            total_amount_cents=_int(d, "total_amount_cents"),
            payment_due_date=_date(d, "payment_due_date"),
            payment_overdue=bool(_get(d, "payment_overdue", bool, null=True)),
            customer=LagoCustomer.from_wire(customer) if isinstance(customer, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class LagoMonthlyAmount:
    """One row of an analytics endpoint (``/analytics/mrr``, ``/analytics/gross_revenue``)."""

    month: date
    currency: str
    amount_cents: int
    invoices_count: int | None = None

    @classmethod
    def from_wire(cls, d: Mapping[str, Any]) -> LagoMonthlyAmount:
        month = _date(d, "month")
        if month is None:
            raise WireError("missing field 'month'")
        return cls(
            month=month.replace(day=1),
            currency=_str(d, "currency"),
            amount_cents=_int(d, "amount_cents"),
            invoices_count=_opt_int(d, "invoices_count"),
        )
