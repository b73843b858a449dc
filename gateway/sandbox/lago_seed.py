"""Deterministic billing history for the Lago sandbox, as Lago's wire objects.

:func:`seed_data` builds hundreds of customers (USD and EUR), a catalogue of plans over every
interval, subscriptions over 18 months (active, terminated with some re-subscribing to another
plan, pending, canceled, a few discounted) and the invoices they produced. The same ``seed``
and ``now`` always give the same data; ``now`` defaults to the start of the current UTC day.
"""

from __future__ import annotations

import calendar
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

DEFAULT_SEED = 20_240_601
HISTORY_MONTHS = 18
Wire = dict[str, Any]


@dataclass(frozen=True, slots=True)
class PlanSpec:
    code: str
    name: str
    interval: str
    amount_cents: int
    currency: str
    weight: int
    churn: float
    """Chance of terminating in any 30-day stretch."""


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("starter", "Starter", "monthly", 2_900, "USD", 30, 0.06),
    PlanSpec("pro", "Pro", "monthly", 9_900, "USD", 25, 0.04),
    PlanSpec("pro_annual", "Pro (annual)", "yearly", 99_000, "USD", 10, 0.015),
    PlanSpec("team", "Team", "quarterly", 45_000, "USD", 10, 0.03),
    PlanSpec("burst", "Burst (weekly)", "weekly", 4_900, "USD", 4, 0.08),
    PlanSpec("enterprise", "Enterprise", "yearly", 1_200_000, "USD", 2, 0.01),
    PlanSpec("starter_eu", "Starter EU", "monthly", 2_700, "EUR", 30, 0.05),
    PlanSpec("business_eu", "Business EU", "semiannual", 54_000, "EUR", 12, 0.025),
    PlanSpec("pro_eu_annual", "Pro EU (annual)", "yearly", 92_000, "EUR", 8, 0.015),
)
_BRANDS = (
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell",
    "Cyberdyne", "Soylent", "Aperture", "Vandelay", "Pied Piper", "Dunder", "Gringotts",
    "Oceanic", "Monarch", "Nakatomi", "Massive",
)  # fmt: skip
_KINDS = ("Labs", "Systems", "Analytics", "AI", "Robotics", "Cloud", "Works", "Data",
          "Networks", "Studio", "Health", "Logistics")  # fmt: skip
_COUNTRIES = {"USD": ("US", "US", "US", "CA"), "EUR": ("FR", "DE", "ES", "IT", "NL")}
_TAX = {"US": 0.0, "CA": 0.05, "FR": 0.2, "DE": 0.19, "ES": 0.21, "IT": 0.22, "NL": 0.21}


@dataclass
class LagoData:
    """Wire objects in Lago's list order (newest first), with lookups."""

    now: datetime
    plans: list[Wire]
    customers: list[Wire]
    subscriptions: list[Wire]
    invoices: list[Wire]
    by_customer: dict[str, Wire] = field(init=False)
    by_plan: dict[str, Wire] = field(init=False)
    by_subscription: dict[str, Wire] = field(init=False)
    by_invoice: dict[str, Wire] = field(init=False)

    def __post_init__(self) -> None:
        self.by_customer = {c["external_id"]: c for c in self.customers}
        self.by_plan = {p["code"]: p for p in self.plans}
        self.by_subscription = {s["external_id"]: s for s in self.subscriptions}
        self.by_invoice = {i["lago_id"]: i for i in self.invoices}


def iso(t: datetime | None) -> str | None:
    return None if t is None else t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def add_months(t: datetime, n: int) -> datetime:
    index = t.year * 12 + t.month - 1 + n
    year, month = index // 12, index % 12 + 1
    return t.replace(year=year, month=month, day=min(t.day, calendar.monthrange(year, month)[1]))


def step(t: datetime, interval: str) -> datetime:
    if interval == "weekly":
        return t + timedelta(days=7)
    return add_months(t, {"monthly": 1, "quarterly": 3, "semiannual": 6, "yearly": 12}[interval])


def today() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, now.day, tzinfo=UTC)


class _Builder:
    def __init__(self, rng: random.Random, now: datetime, *, invoices: bool = True) -> None:
        self.rng = rng
        self.now = now
        self.with_invoices = invoices
        self.start = add_months(datetime(now.year, now.month, 1, tzinfo=UTC), -HISTORY_MONTHS)
        self.subscriptions: list[Wire] = []
        self.invoices: list[Wire] = []

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def between(self, a: datetime, b: datetime) -> datetime:
        return (a + (b - a) * self.rng.random()).replace(microsecond=0)

    def plan(self, currency: str, other_than: str | None = None) -> PlanSpec:
        choices = [p for p in PLANS if p.currency == currency and p.code != other_than]
        return self.rng.choices(choices, weights=[p.weight for p in choices])[0]

    def plan_wire(self, i: int, p: PlanSpec) -> Wire:
        return {
            "lago_id": self.uuid(), "name": p.name, "invoice_display_name": p.name,
            "created_at": iso(self.start - timedelta(days=30 - i)), "code": p.code,
            "interval": p.interval, "description": f"{p.name}, billed {p.interval}",
            "amount_cents": p.amount_cents, "amount_currency": p.currency, "trial_period": 0.0,
            "pay_in_advance": True, "bill_charges_monthly": None, "charges": [], "taxes": [],
        }  # fmt: skip

    def customer(self, seq: int, created: datetime, used: set[str]) -> Wire:
        rng = self.rng
        currency = "USD" if rng.random() < 0.7 else "EUR"
        country = rng.choice(_COUNTRIES[currency])
        name = f"{rng.choice(_BRANDS)} {rng.choice(_KINDS)}"
        if name in used:
            name = f"{name} {seq}"
        used.add(name)
        slug = name.lower().replace(" ", "-")
        return {
            "lago_id": self.uuid(), "sequential_id": seq, "slug": f"LAG-SBX-{seq:04d}",
            "external_id": f"cus_{seq:04d}", "name": name, "firstname": None, "lastname": None,
            "email": f"billing@{slug}.example", "currency": currency, "country": country,
            "legal_name": f"{name} Inc.", "timezone": None, "applicable_timezone": "UTC",
            "net_payment_term": 30, "account_type": "customer", "customer_type": "company",
            "created_at": iso(created), "updated_at": iso(created), "metadata": [],
            "billing_configuration": {"invoice_grace_period": 0, "payment_provider": None},
        }  # fmt: skip

    def history(self, customer: Wire, created: datetime) -> None:
        """The customer's subscriptions (and their invoices), one after another."""
        rng, now = self.rng, self.now
        currency = customer["currency"]
        at = created + timedelta(hours=rng.randint(0, 72))
        if now - created < timedelta(days=30) and rng.random() < 0.4:
            self.add(customer, self.plan(currency), at, status="pending",
                     subscribe_at=now + timedelta(days=rng.randint(1, 20)))  # fmt: skip
            return
        if rng.random() < 0.04:
            self.add(customer, self.plan(currency), at, status="canceled")
            at += timedelta(days=rng.randint(1, 5))
        previous: str | None = None
        while at < now:
            spec = self.plan(currency, other_than=previous)
            lifetime = timedelta(days=rng.expovariate(spec.churn / 30))
            end = (at + lifetime).replace(microsecond=0)
            if end >= now:
                self.add(customer, spec, at, status="active", previous=previous)
                break
            self.add(customer, spec, at, status="terminated", previous=previous, ended=end)
            if rng.random() > 0.4:
                break
            previous, at = spec.code, end
        if rng.random() < 0.12 and now - at > timedelta(days=10):  # a second product
            self.add(customer, self.plan(currency), self.between(at, now), status="active")

    def add(
        self,
        customer: Wire,
        spec: PlanSpec,
        at: datetime,
        *,
        status: str,
        previous: str | None = None,
        ended: datetime | None = None,
        subscribe_at: datetime | None = None,
    ) -> None:
        rng = self.rng
        amount = spec.amount_cents if rng.random() >= 0.08 else spec.amount_cents * 8 // 10
        started = at if status in ("active", "terminated") else None
        period_start, period_end = (None, None)
        if status == "active":
            period_start = at
            while step(period_start, spec.interval) <= self.now:
                period_start = step(period_start, spec.interval)
            period_end = step(period_start, spec.interval)
        if self.subscriptions and previous is not None:
            self.subscriptions[-1]["next_plan_code"] = spec.code
        sub = {
            "lago_id": self.uuid(), "external_id": f"sub_{len(self.subscriptions) + 1:05d}",
            "lago_customer_id": customer["lago_id"],
            "external_customer_id": customer["external_id"],
            "billing_time": rng.choice(("anniversary", "anniversary", "calendar")),
            "name": spec.name, "plan_code": spec.code, "status": status,
            "created_at": iso(at), "subscription_at": iso(subscribe_at or at),
            "started_at": iso(started), "terminated_at": iso(ended), "ending_at": None,
            "canceled_at": iso(at + timedelta(days=1)) if status == "canceled" else None,
            "previous_plan_code": previous, "next_plan_code": None, "downgrade_plan_date": None,
            "trial_ended_at": None, "current_billing_period_started_at": iso(period_start),
            "current_billing_period_ending_at": iso(period_end),
            "plan_amount_cents": amount, "plan_amount_currency": spec.currency,
            "on_termination_credit_note": None, "on_termination_invoice": "generate",
        }  # fmt: skip
        self.subscriptions.append(sub)
        if started is not None and self.with_invoices:
            self.bill(customer, spec, amount, started, ended)

    def bill(
        self, customer: Wire, spec: PlanSpec, amount: int, start: datetime, end: datetime | None
    ) -> None:
        """One invoice per billing period, issued at its start (plans are paid in advance)."""
        rng, now = self.rng, self.now
        stop = min(end, now) if end else now
        rate = _TAX[customer["country"]]
        period = start
        while period < stop:
            issued = period.date()
            taxes = round(amount * rate)
            status = "finalized"
            if rng.random() < 0.015:
                status = "voided"
            elif now - period < timedelta(days=3) and rng.random() < 0.3:
                status = "draft"
            paid = "pending"
            if status == "finalized":
                recent = now - period < timedelta(days=20)
                paid = rng.choices(("succeeded", "pending", "failed"),
                                   weights=(50, 50, 0) if recent else (95, 1, 4))[0]  # fmt: skip
            due = issued + timedelta(days=30)
            self.invoices.append({
                "lago_id": self.uuid(), "sequential_id": 0, "number": "",
                "issuing_date": issued.isoformat(), "payment_due_date": due.isoformat(),
                "payment_overdue": status == "finalized" and paid != "succeeded"
                and due < now.date(),
                "net_payment_term": 30, "invoice_type": "subscription", "status": status,
                "payment_status": paid, "currency": spec.currency,
                "fees_amount_cents": amount, "coupons_amount_cents": 0,
                "credit_notes_amount_cents": 0, "sub_total_excluding_taxes_amount_cents": amount,
                "taxes_amount_cents": taxes,
                "sub_total_including_taxes_amount_cents": amount + taxes,
                "prepaid_credit_amount_cents": 0, "total_amount_cents": amount + taxes,
                "version_number": 4, "file_url": None, "created_at": iso(period),
                "updated_at": iso(period), "customer": customer, "metadata": [],
            })  # fmt: skip
            period = step(period, spec.interval)


def seed_data(
    *,
    now: datetime | None = None,
    seed: int = DEFAULT_SEED,
    customers: int = 300,
    invoices: bool = True,
) -> LagoData:
    """See the module doc. ``customers`` sets the size (300 by default: ~390 subscriptions);
    ``invoices=False`` skips the invoices (a large account for benchmarks, in less memory)."""
    now = (now or today()).astimezone(UTC).replace(microsecond=0)
    build = _Builder(random.Random(seed), now, invoices=invoices)
    plans = [build.plan_wire(i, p) for i, p in enumerate(PLANS)]
    created = sorted(build.between(build.start, now - timedelta(days=1)) for _ in range(customers))
    used: set[str] = set()
    wires = []
    for seq, at in enumerate(created, start=1):
        customer = build.customer(seq, at, used)
        wires.append(customer)
        build.history(customer, at)
    _number(build.invoices)
    return LagoData(
        now=now,
        plans=plans[::-1],
        customers=wires[::-1],
        subscriptions=sorted(
            build.subscriptions, key=lambda s: (s["created_at"], s["external_id"]), reverse=True
        ),
        invoices=sorted(
            build.invoices, key=lambda i: (i["issuing_date"], i["number"]), reverse=True
        ),
    )


def _number(invoices: list[Wire]) -> None:
    """Per-customer invoice numbers in issuing order, like Lago's."""
    counts: dict[int, int] = {}
    for n, inv in enumerate(
        sorted(invoices, key=lambda i: (i["issuing_date"], i["created_at"])), 1
    ):
        seq = inv["customer"]["sequential_id"]
        counts[seq] = counts.get(seq, 0) + 1
        inv["sequential_id"] = n
        inv["number"] = f"SBX-{seq:04d}-{counts[seq]:03d}"
