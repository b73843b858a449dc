"""gateway.revenue on hand-made facts: normalisation, rounding, boundaries, formulas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from gateway.revenue import churn, figures, series
from gateway.revenue.facts import Interval, SubscriptionFact, monthly_amount
from gateway.revenue.money import Money, round_cents
from gateway.revenue.months import add_months, last_months, month_close

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def fact(
    ident: str,
    *,
    amount: int,
    interval: Interval = Interval.MONTHLY,
    currency: str = "USD",
    customer: str = "c1",
    plan: str = "p",
    start: datetime | None = T0,
    end: datetime | None = None,
    status: str | None = None,
) -> SubscriptionFact:
    status = status or ("terminated" if end else "active")
    return SubscriptionFact(ident, customer, plan, status, start, end, interval, amount, currency)


@pytest.mark.parametrize(
    ("interval", "amount", "monthly"),
    [
        (Interval.WEEKLY, 1200, Fraction(5200)),  # * 52 / 12
        (Interval.MONTHLY, 999, Fraction(999)),
        (Interval.QUARTERLY, 3000, Fraction(1000)),
        (Interval.SEMIANNUAL, 6000, Fraction(1000)),
        (Interval.YEARLY, 100, Fraction(100, 12)),
    ],
)
def test_interval_normalisation(interval: Interval, amount: int, monthly: Fraction) -> None:
    assert monthly_amount(amount, interval) == monthly


def test_rounding_is_once_and_symmetric() -> None:
    assert [round_cents(Fraction(n, 2)) for n in (1, 3, -1, -3)] == [1, 2, -1, -2]
    assert round_cents(Fraction(24999, 10000)) == 2
    # Three yearly 100-cent plans: 3 * 8.33 would be 24.99; the exact sum is 25.
    facts = [fact(f"s{i}", amount=100, interval=Interval.YEARLY) for i in range(3)]
    row = figures.overview(facts, T0 + timedelta(days=1)).by_currency[0]
    assert (row.mrr, row.arr, row.arpu) == (25, 300, 25)


def test_currencies_are_never_summed_and_zero_rows_stay() -> None:
    facts = [
        fact("a", amount=1000, customer="x"),
        fact("b", amount=500, customer="y", currency="EUR"),
        fact("c", amount=700, currency="GBP", start=T0 + timedelta(days=40)),  # not yet
    ]
    view = figures.overview(facts, T0 + timedelta(days=2))
    assert [(r.currency, r.mrr, r.active_customers, r.arpu) for r in view.by_currency] == [
        ("EUR", 500, 1, 500),
        ("GBP", 0, 0, None),
        ("USD", 1000, 1, 1000),
    ]
    assert (view.active_subscriptions, view.active_customers) == (2, 2)


def test_activity_boundaries() -> None:
    end = T0 + timedelta(days=10)
    sub = fact("s", amount=100, end=end)
    assert sub.active_at(T0) and sub.active_at(end - timedelta(seconds=1))
    assert not sub.active_at(end) and not sub.active_at(T0 - timedelta(seconds=1))
    assert not fact("p", amount=1, status="pending").active_at(T0 + timedelta(days=1))
    assert not fact("c", amount=1, status="canceled").active_at(T0 + timedelta(days=1))


def test_months() -> None:
    at = datetime(2025, 3, 10, 8, tzinfo=UTC)
    assert [m.date() for m in last_months(at, 3)] == [
        date(2025, 1, 1),
        date(2025, 2, 1),
        date(2025, 3, 1),
    ]
    assert add_months(datetime(2024, 11, 1, tzinfo=UTC), 3).date() == date(2025, 2, 1)
    assert month_close(datetime(2025, 2, 1, tzinfo=UTC), at) == datetime(
        2025, 2, 28, 23, 59, 59, tzinfo=UTC
    )
    assert month_close(datetime(2025, 3, 1, tzinfo=UTC), at) == at


def test_churn_counts_a_termination_once_even_at_midnight() -> None:
    feb, mar = datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC)
    facts = [
        fact("midnight", amount=300, end=mar),  # ends exactly as March begins: February churn
        fact("march", amount=100, end=mar + timedelta(days=3)),
        fact("stays", amount=900),
        fact("late", amount=50, start=feb + timedelta(days=2), end=feb + timedelta(days=9)),
    ]
    months = churn.churn_by_month(facts, datetime(2025, 3, 20, tzinfo=UTC), 2)
    assert [(m.month, m.active_at_start, m.churned) for m in months] == [
        (date(2025, 2, 1), 3, 1),  # "late" started after Feb 1st: not in the base
        (date(2025, 3, 1), 2, 1),
    ]
    assert months[0].churned_mrr == [Money("USD", 300)] and months[0].rate == pytest.approx(1 / 3)


def test_lifetime_value_formula() -> None:
    # 10 customers of 1000/month each; 1 of 10 churns in each of the two complete months.
    start = datetime(2024, 12, 1, tzinfo=UTC)
    facts = [fact(f"s{i}", amount=1000, customer=f"c{i}", start=start) for i in range(10)]
    facts += [
        fact("j", amount=1000, customer="j", start=start, end=datetime(2025, 1, 15, tzinfo=UTC))
    ]
    facts += [
        fact("f", amount=1000, customer="f", start=start, end=datetime(2025, 2, 20, tzinfo=UTC))
    ]
    (value,) = churn.lifetime_value(facts, datetime(2025, 3, 5, tzinfo=UTC), 2)
    # churn = (1 + 1) / (12 + 11); ARPU = 1000; LTV = 1000 / (2/23) = 11500
    assert value.churn_rate == pytest.approx(2 / 23)
    assert (value.arpu, value.value, value.active_customers) == (1000, 11500, 10)
    (no_churn,) = churn.lifetime_value(facts[:10], datetime(2025, 3, 5, tzinfo=UTC), 2)
    assert no_churn.value is None and no_churn.churn_rate == 0


def test_growth_and_forecast() -> None:
    months = [date(2025, m, 1) for m in (1, 2, 3, 4)]
    points = [series.Point(m, {"USD": v, "EUR": e}) for m, v, e in
              zip(months, (0, 100, 200, 300), (400, 300, 200, 100), strict=True)]  # fmt: skip
    rows = series.growth(points)
    assert [(g.currency, g.change, g.rate) for g in rows[0]] == [
        ("EUR", -100, -0.25),
        ("USD", 100, None),
    ]
    fc = {f.currency: f for f in series.forecast(points, 3)}
    assert fc["USD"].points == [
        (date(2025, 5, 1), 400),
        (date(2025, 6, 1), 500),
        (date(2025, 7, 1), 600),
    ]
    assert fc["USD"].slope == 100
    assert [v for _, v in fc["EUR"].points] == [0, 0, 0]  # clamped: MRR is never negative
    assert series.forecast(points[:1], 2)[1].points == [
        (date(2025, 2, 1), 0),
        (date(2025, 3, 1), 0),
    ]


def test_ranking_by_customer() -> None:
    at = T0 + timedelta(days=1)
    facts = [
        fact("a", amount=100, customer="small"),
        fact("b", amount=900, customer="big", currency="EUR"),
        fact("c", amount=500, customer="mid"),
        fact("d", amount=50, customer="mid", currency="EUR"),
    ]
    assert [r.key for r in figures.by_customer(facts, at)] == ["big", "mid", "small"]
    eur = figures.by_customer(facts, at, "EUR")
    assert [(r.key, r.mrr) for r in eur] == [
        ("big", [Money("EUR", 900)]),
        ("mid", [Money("EUR", 50)]),
    ]
