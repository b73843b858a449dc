"""Revenue figures through the schema equal the ones computed independently from the seed."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import LagoData
from tests.plugins.app import Gateway, GatewayFactory
from tests.revenue import expected

MONEY = "{ amountCents currency }"


def per_currency(items: list[dict[str, Any]]) -> dict[str, int]:
    return {m["currency"]: m["amountCents"] for m in items}


async def revenue(gw: Gateway, body: str, at: datetime | None, **variables: Any) -> dict[str, Any]:
    query = f"query($at: DateTime) {{ revenue(asOf: $at) {{ {body} }} }}"
    data = await gw.data(query, {"at": at.isoformat() if at else None, **variables})
    return data["revenue"]


async def test_overview_matches_the_seed(
    revenue_gw: Gateway, lago_data: LagoData, now: datetime
) -> None:
    data = await revenue(
        revenue_gw,
        f"overview {{ activeSubscriptions activeCustomers mrr {MONEY} arr {MONEY} "
        f"currencies {{ currency mrr {MONEY} arr {MONEY} arpu {MONEY} activeSubscriptions activeCustomers }} }}",
        now,
    )
    want = expected.overview(lago_data, now)
    got = data["overview"]
    assert got["activeSubscriptions"] == want["subscriptions"] > 200
    assert got["activeCustomers"] == want["customers"] > 150
    # Mixed currencies are reported side by side, never summed.
    assert sorted(per_currency(got["mrr"])) == ["EUR", "USD"]
    assert per_currency(got["mrr"]) == {c: r["mrr"] for c, r in want["currencies"].items()}
    assert per_currency(got["arr"]) == {c: r["arr"] for c, r in want["currencies"].items()}
    for row in got["currencies"]:
        w = want["currencies"][row["currency"]]
        assert row["arpu"]["amountCents"] == w["arpu"]
        assert (row["activeSubscriptions"], row["activeCustomers"]) == (
            w["subscriptions"],
            w["customers"],
        )
        assert isinstance(row["mrr"]["amountCents"], int)


async def test_figures_at_a_past_instant(
    revenue_gw: Gateway, lago_data: LagoData, now: datetime
) -> None:
    then = now - timedelta(days=160, hours=5)
    data = await revenue(revenue_gw, f"asOf overview {{ activeSubscriptions mrr {MONEY} }}", then)
    want = expected.overview(lago_data, then)
    assert data["overview"]["activeSubscriptions"] == want["subscriptions"]
    assert per_currency(data["overview"]["mrr"]) == {
        c: r["mrr"] for c, r in want["currencies"].items()
    }
    assert want["subscriptions"] != expected.overview(lago_data, now)["subscriptions"]


async def test_by_plan_and_by_customer(
    revenue_gw: Gateway, lago_data: LagoData, now: datetime
) -> None:
    data = await revenue(
        revenue_gw,
        f"byPlan {{ planCode mrr {MONEY} plan {{ name interval }} }} "
        f"byCustomer(first: 500) {{ totalCount edges {{ node {{ customerId mrr {MONEY} customer {{ name }} }} }} }} "
        f'eur: byCustomer(first: 5, currency: "EUR") {{ edges {{ node {{ customerId mrr {MONEY} }} }} }}',
        now,
    )
    plans = expected.grouped(lago_data, now, "plan")
    got_plans = {p["planCode"]: per_currency(p["mrr"]) for p in data["byPlan"]}
    assert got_plans == {code: plans.get(code, {}) for code in lago_data.by_plan}
    assert {p["plan"]["interval"] for p in data["byPlan"]} == {
        "WEEKLY",
        "MONTHLY",
        "QUARTERLY",
        "SEMIANNUAL",
        "YEARLY",
    }
    customers = expected.grouped(lago_data, now, "customer")
    nodes = [e["node"] for e in data["byCustomer"]["edges"]]
    assert data["byCustomer"]["totalCount"] == len(customers)
    assert {n["customerId"]: per_currency(n["mrr"]) for n in nodes} == customers
    ranks = [max(per_currency(n["mrr"]).values()) for n in nodes]
    assert ranks == sorted(ranks, reverse=True)
    assert all(
        n["customer"]["name"] == lago_data.by_customer[n["customerId"]]["name"] for n in nodes
    )
    eur = [e["node"] for e in data["eur"]["edges"]]
    eur_ranking = sorted(
        ((v["EUR"], k) for k, v in customers.items() if "EUR" in v), key=lambda x: (-x[0], x[1])
    )
    assert [(n["mrr"][0]["amountCents"], n["customerId"]) for n in eur] == eur_ranking[:5]


async def test_churn_and_lifetime_value(
    revenue_gw: Gateway, lago_data: LagoData, now: datetime
) -> None:
    data = await revenue(
        revenue_gw,
        f"churn(months: 12) {{ churned rate months {{ month activeAtStart churned rate churnedMrr {MONEY} }} }} "
        f"lifetimeValue(months: 6) {{ currency value {MONEY} arpu {MONEY} churnRate basisMonths }}",
        now,
    )
    want = expected.churn(lago_data, now, 12)
    got = data["churn"]["months"]
    assert [m["month"] for m in got] == [w["month"].isoformat() for w in want]
    for g, w in zip(got, want, strict=True):
        assert (g["activeAtStart"], g["churned"]) == (w["activeAtStart"], w["churned"])
        assert per_currency(g["churnedMrr"]) == w["churnedMrr"]
        assert g["rate"] == (w["churned"] / w["activeAtStart"] if w["activeAtStart"] else None)
    assert data["churn"]["churned"] == sum(w["churned"] for w in want) > 0
    ltv = expected.lifetime_value(lago_data, now, 6)
    assert {v["currency"] for v in data["lifetimeValue"]} == set(ltv)
    for v in data["lifetimeValue"]:
        w = ltv[v["currency"]]
        assert v["value"]["amountCents"] == w["value"]
        assert v["arpu"]["amountCents"] == w["arpu"]
        assert v["churnRate"] == float(w["rate"])
        assert v["basisMonths"] == 6


async def test_trends_growth_forecast_computed_for_a_given_instant(
    revenue_gw: Gateway, lago_data: LagoData, now: datetime, lago: LagoSandbox
) -> None:
    # An explicit asOf is computed from raw objects: Lago's analytics only speak for "now".
    data = await revenue(
        revenue_gw,
        f"trends(months: 12) {{ source months {{ month mrr {MONEY} revenue {MONEY} invoices }} }} "
        f"growth(months: 6) {{ source months {{ month currencies {{ currency mrr {MONEY} previous {MONEY} change {MONEY} rate }} }} }} "
        f"forecast(months: 3, basisMonths: 6) {{ source method basisMonths currencies {{ currency points {{ month mrr {MONEY} }} }} }}",
        now,
    )
    # Computed from the snapshot's facts and invoiced months, though analytics exist.
    check_trends(data["trends"], lago_data, now, "COMPUTED")
    check_growth_and_forecast(data, lago_data, now, "COMPUTED")


def check_trends(trends: dict[str, Any], data: LagoData, now: datetime, source: str) -> None:
    assert trends["source"] == source
    mrr = expected.mrr_series(data, now, 12)
    revenue_rows = expected.revenue_series(data, now, 12)
    assert [m["month"] for m in trends["months"]] == [d.isoformat() for d, _ in mrr]
    assert [per_currency(m["mrr"]) for m in trends["months"]] == [a for _, a in mrr]
    assert [per_currency(m["revenue"]) for m in trends["months"]] == [a for _, a, _ in revenue_rows]
    assert [m["invoices"] for m in trends["months"]] == [n for _, _, n in revenue_rows]


def check_growth_and_forecast(
    data: dict[str, Any], lago_data: LagoData, now: datetime, source: str
) -> None:
    series = expected.mrr_series(lago_data, now, 7)
    assert data["growth"]["source"] == source
    rows = data["growth"]["months"]
    assert [r["month"] for r in rows] == [d.isoformat() for d, _ in series[1:]]
    for row, (_, before), (_, after) in zip(rows, series, series[1:], strict=False):
        for g in row["currencies"]:
            cur = g["currency"]
            assert (g["mrr"]["amountCents"], g["previous"]["amountCents"]) == (
                after[cur],
                before[cur],
            )
            assert g["change"]["amountCents"] == after[cur] - before[cur]
            assert g["rate"] == (after[cur] - before[cur]) / before[cur]
    fc = data["forecast"]
    assert (fc["source"], fc["basisMonths"]) == (source, 6)
    assert "least-squares" in fc["method"]
    want = expected.forecast(series[1:], 3)
    assert {
        c["currency"]: [p["mrr"]["amountCents"] for p in c["points"]] for c in fc["currencies"]
    } == want
    months_ahead = [p["month"] for p in fc["currencies"][0]["points"]]
    assert months_ahead == [expected.first_of(now, k).date().isoformat() for k in (1, 2, 3)]


GROWTH_AND_FORECAST = (
    f"growth(months: 6) {{ source months {{ month currencies {{ currency mrr {MONEY} previous {MONEY} change {MONEY} rate }} }} }} "
    f"forecast(months: 3, basisMonths: 6) {{ source method basisMonths currencies {{ currency points {{ month mrr {MONEY} }} }} }}"
)
TRENDS = f"trends(months: 12) {{ source months {{ month mrr {MONEY} revenue {MONEY} invoices }} }} "


async def test_series_from_lago_analytics(
    revenue_gw: Gateway, lago_data: LagoData, lago: LagoSandbox
) -> None:
    # "Now": Lago's analytics answer, one call each (by the snapshot's build) for trends,
    # growth and forecast together, and no invoice is listed.
    data = await revenue(revenue_gw, TRENDS + GROWTH_AND_FORECAST, None)
    check_trends(data["trends"], lago_data, lago_data.now, "ANALYTICS")
    check_growth_and_forecast(data, lago_data, lago_data.now, "ANALYTICS")
    assert lago.counts["GET /api/v1/analytics/mrr"] == 1
    assert lago.counts["GET /api/v1/analytics/gross_revenue"] == 1
    assert lago.counts["GET /api/v1/invoices"] == 0


async def test_series_fall_back_when_analytics_are_unavailable(
    gateway_factory: GatewayFactory, lago_url: str, lago_data: LagoData, lago: LagoSandbox
) -> None:
    lago.analytics = False  # Lago answers 403 feature_unavailable, from the start
    revenue_gw = await gateway_factory(**lago.settings_for(lago_url))
    data = await revenue(revenue_gw, TRENDS + GROWTH_AND_FORECAST, None)
    check_trends(data["trends"], lago_data, lago_data.now, "COMPUTED")
    check_growth_and_forecast(data, lago_data, lago_data.now, "COMPUTED")
    assert lago.counts["GET /api/v1/analytics/mrr"] == 1  # asked once, refused, not asked again
    assert lago.counts["GET /api/v1/subscriptions"] == -(-len(lago_data.subscriptions) // 100)
    assert lago.counts["GET /api/v1/invoices"] >= 1


async def test_argument_checks(revenue_gw: Gateway) -> None:
    result = await revenue_gw.gql("{ me { subject } revenue { trends(months: 0) { source } } }")
    assert result["data"]["me"]["subject"] == "admin"
    assert result["data"]["revenue"]["trends"] is None
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_viewer_reads_revenue_but_a_roleless_token_does_not(revenue_gw: Gateway) -> None:
    viewer = await revenue_gw.token("viewer")
    body = await revenue_gw.gql("{ revenue { plans(first: 2) { totalCount } } }", token=viewer)
    assert body["data"]["revenue"]["plans"]["totalCount"] == 9
    nobody = await revenue_gw.token()
    body = await revenue_gw.gql("{ me { subject } revenue { plans { totalCount } } }", token=nobody)
    assert body["data"]["revenue"] is None and body["data"]["me"]["subject"] == "test-none"
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
