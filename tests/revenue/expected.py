"""Expected revenue figures, computed straight from the sandbox's seeded wire objects.

Written separately from gateway/revenue (its own month arithmetic, rounding and least-squares
formula), so a bug there cannot hide by being repeated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from gateway.sandbox.lago_seed import LagoData

PER_MONTH = {
    "weekly": Fraction(52, 12),
    "monthly": Fraction(1),
    "quarterly": Fraction(1, 3),
    "semiannual": Fraction(1, 6),
    "yearly": Fraction(1, 12),
}


def nearest(x: Fraction) -> int:
    """Halves away from zero."""
    sign = -1 if x < 0 else 1
    whole, rest = divmod(abs(x), 1)
    return sign * int(whole + (1 if rest >= Fraction(1, 2) else 0))


def parse(raw: str | None) -> datetime | None:
    return datetime.fromisoformat(raw) if raw else None


@dataclass(frozen=True)
class Sub:
    id: str
    customer: str
    plan: str
    status: str
    start: datetime | None
    end: datetime | None
    currency: str
    monthly: Fraction

    def running(self, at: datetime) -> bool:
        return (
            self.status in ("active", "terminated")
            and self.start is not None
            and self.start <= at
            and (self.end is None or self.end > at)
        )


def subs(data: LagoData) -> list[Sub]:
    out = []
    for s in data.subscriptions:
        plan = data.by_plan[s["plan_code"]]
        amount = (
            s["plan_amount_cents"]
            if s.get("plan_amount_cents") is not None
            else plan["amount_cents"]
        )
        out.append(
            Sub(s["external_id"], s["external_customer_id"], s["plan_code"], s["status"],
                parse(s["started_at"]), parse(s["terminated_at"]),
                s.get("plan_amount_currency") or plan["amount_currency"],
                amount * PER_MONTH[plan["interval"]])
        )  # fmt: skip
    return out


def currencies(data: LagoData) -> list[str]:
    return sorted({s.currency for s in subs(data)})


def first_of(d: datetime, shift: int = 0) -> datetime:
    months = d.year * 12 + (d.month - 1) + shift
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def months(at: datetime, n: int) -> list[datetime]:
    return [first_of(at, -k) for k in reversed(range(n))]


def month_end(start: datetime, at: datetime) -> datetime:
    return min(first_of(start, 1) - timedelta(seconds=1), at)


def mrr(data: LagoData, at: datetime) -> dict[str, Fraction]:
    sums = dict.fromkeys(currencies(data), Fraction(0))
    for s in subs(data):
        if s.running(at):
            sums[s.currency] += s.monthly
    return sums


def overview(data: LagoData, at: datetime) -> dict[str, Any]:
    running = [s for s in subs(data) if s.running(at)]
    per: dict[str, Any] = {}
    for cur, total in mrr(data, at).items():
        mine = [s for s in running if s.currency == cur]
        customers = len({s.customer for s in mine})
        per[cur] = {
            "mrr": nearest(total),
            "arr": nearest(total * 12),
            "arpu": nearest(total / customers) if customers else None,
            "subscriptions": len(mine),
            "customers": customers,
        }
    return {
        "subscriptions": len(running),
        "customers": len({s.customer for s in running}),
        "currencies": per,
    }


def grouped(data: LagoData, at: datetime, field: str) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, Fraction]] = {}
    for s in subs(data):
        if s.running(at):
            row = sums.setdefault(getattr(s, field), {})
            row[s.currency] = row.get(s.currency, Fraction(0)) + s.monthly
    return {k: {c: nearest(v) for c, v in row.items()} for k, row in sums.items()}


def mrr_series(data: LagoData, at: datetime, n: int) -> list[tuple[date, dict[str, int]]]:
    return [
        (m.date(), {c: nearest(v) for c, v in mrr(data, month_end(m, at)).items()})
        for m in months(at, n)
    ]


def revenue_series(data: LagoData, at: datetime, n: int) -> list[tuple[date, dict[str, int], int]]:
    every = sorted(set(currencies(data)) | {i["currency"] for i in data.invoices})
    out = []
    for m in months(at, n):
        key = m.strftime("%Y-%m")
        mine = [i for i in data.invoices
                if i["status"] == "finalized" and i["issuing_date"].startswith(key)]  # fmt: skip
        sums = {c: sum(i["total_amount_cents"] - i["taxes_amount_cents"] for i in mine
                       if i["currency"] == c) for c in every}  # fmt: skip
        out.append((m.date(), sums, len(mine)))
    return out


def churn(data: LagoData, at: datetime, n: int) -> list[dict[str, Any]]:
    out = []
    for m in months(at, n):
        end = min(first_of(m, 1), at)
        start_set = [s for s in subs(data) if s.running(m)]
        lost = [s for s in start_set if not s.running(end)]
        out.append({
            "month": m.date(),
            "activeAtStart": len(start_set),
            "churned": len(lost),
            "churnedMrr": {c: nearest(sum((s.monthly for s in lost if s.currency == c), Fraction(0)))
                           for c in currencies(data)},
        })  # fmt: skip
    return out


def lifetime_value(data: LagoData, at: datetime, n: int) -> dict[str, dict[str, Any]]:
    out = {}
    view = overview(data, at)
    for cur, row in view["currencies"].items():
        mine = [s for s in subs(data) if s.currency == cur]
        churned = started = 0
        for k in range(1, n + 1):
            m = first_of(at, -k)
            start_set = [s for s in mine if s.running(m)]
            started += len(start_set)
            churned += sum(1 for s in start_set if not s.running(first_of(m, 1)))
        rate = Fraction(churned, started) if started else None
        total = mrr(data, at)[cur]
        value = nearest(total / row["customers"] / rate) if rate and row["customers"] else None
        out[cur] = {"value": value, "arpu": row["arpu"], "rate": rate}
    return out


def least_squares(values: list[int]) -> tuple[Fraction, Fraction]:
    """(intercept, slope) by the normal equations."""
    n = len(values)
    sx = sum(range(n))
    sy = sum(values)
    sxx = sum(x * x for x in range(n))
    sxy = sum(x * y for x, y in enumerate(values))
    denominator = n * sxx - sx * sx
    slope = Fraction(n * sxy - sx * sy, denominator) if denominator else Fraction(0)
    return (sy - slope * sx) / n, slope


def forecast(series: list[tuple[date, dict[str, int]]], ahead: int) -> dict[str, list[int]]:
    out = {}
    for cur in sorted(series[-1][1]):
        values = [amounts[cur] for _, amounts in series]
        intercept, slope = least_squares(values)
        out[cur] = [
            max(0, nearest(intercept + slope * (len(values) - 1 + k))) for k in range(1, ahead + 1)
        ]
    return out
