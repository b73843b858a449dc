"""Certificate renewal against a real ACME server (pebble), written back to acme.json."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from cryptography import x509

from tests.plugins.ws import collect, subscription
from tests.traffic.conftest import Traffic
from tests.traffic.engines import Pebble

RENEW = """mutation($d: String!) { renewCertificate(domain: $d) {
    __typename ... on RenewalJob { id state domains challenge }
    ... on TrafficError { field code message } } }"""
RENEW_MANY = """mutation($d: [String!]!) { renewCertificates(domains: $d) {
    __typename ... on RenewalJob { id state domains }
    ... on TrafficError { field code message } } }"""
JOB = """query($id: ID!) { traffic { renewal(jobId: $id) { id state total done failed
    error { code message }
    progress { domain state attempt error code notAfter serial issuer writtenTo backup } } } }"""


async def wait_job(t: Traffic, job_id: str) -> dict[str, Any]:
    async with asyncio.timeout(30):
        while True:
            job = (await t.gw.gql(JOB, {"id": job_id}))["data"]["traffic"]["renewal"]
            if job["state"] not in ("queued", "running"):
                return job
            await asyncio.sleep(0.1)


def entries(path: Path) -> dict[str, dict[str, Any]]:
    data = json.loads(path.read_text())
    return {
        c["domain"]["main"]: {**c, "resolver": resolver}
        for resolver, section in data.items()
        for c in section["Certificates"]
    }


def chain(entry: dict[str, Any]) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(base64.b64decode(entry["certificate"]))


def acme(pebble: Pebble) -> dict[str, Any]:
    return {
        "acme_directory_url": pebble.directory_url,
        "acme_ca_bundle": pebble.ca_bundle,
        "acme_email": "ops@example.com",
    }


async def test_renewal_replaces_the_entry_with_a_certificate_from_pebble(
    traffic_factory: Any, pebble: Pebble
) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    before = entries(t.acme_json)
    old_leaf = chain(before["ops.example.com"])[0]
    started = (await t.gw.gql(RENEW, {"d": "ops.example.com"}))["data"]["renewCertificate"]
    assert started["__typename"] == "RenewalJob", started
    assert started["domains"] == ["ops.example.com"] and started["challenge"] == "http-01"

    job = await wait_job(t, started["id"])
    assert job["state"] == "succeeded", job
    [row] = job["progress"]
    assert row["state"] == "renewed" and row["writtenTo"] == str(t.acme_json)

    after = entries(t.acme_json)
    leaf, *intermediates = chain(after["ops.example.com"])
    root = x509.load_pem_x509_certificate(pebble.root_pem)
    # The chain leads to pebble's root (new on every pebble start).
    issuers = [*intermediates, root]
    for child, parent in zip([leaf, *intermediates], issuers, strict=True):
        child.verify_directly_issued_by(parent)
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sorted(san.get_values_for_type(x509.DNSName)) == ["ops.example.com", "www.example.com"]
    assert leaf.not_valid_after_utc > old_leaf.not_valid_after_utc
    assert row["notAfter"] == leaf.not_valid_after_utc.isoformat()
    assert after["ops.example.com"]["resolver"] == "letsencrypt"
    assert after["ops.example.com"]["key"] != before["ops.example.com"]["key"]
    assert after["billing.example.com"] == before["billing.example.com"]  # untouched
    # Atomic replace with a backup of the previous file, modes kept.
    assert oct(t.acme_json.stat().st_mode & 0o777) == oct(0o600)
    backup = Path(row["backup"])
    assert backup.parent == t.acme_json.parent and entries(backup) == before
    assert oct(backup.stat().st_mode & 0o777) == oct(0o600)  # noqa: ASYNC240
    # The certificates field sees the new expiry.
    certs = await t.gw.gql(
        "{ traffic { certificates(expiringWithinDays: 30) { nodes { main } } } }"
    )
    mains = [n["main"] for n in certs["data"]["traffic"]["certificates"]["nodes"]]
    assert "ops.example.com" not in mains and "grafana.example.com" in mains


async def test_bulk_renewal_runs_in_parallel_and_reports_each_domain(
    traffic_factory: Any, pebble: Pebble
) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    domains = ["billing.example.com", "grafana.example.com", "www.example.com"]
    started = (await t.gw.gql(RENEW_MANY, {"d": domains}))["data"]["renewCertificates"]
    assert started["__typename"] == "RenewalJob", started
    job = await wait_job(t, started["id"])
    assert job["state"] == "succeeded", job
    assert (job["total"], job["done"], job["failed"]) == (3, 3, 0)
    after = entries(t.acme_json)
    assert set(after) == {"ops.example.com", "billing.example.com", "grafana.example.com"}
    root = x509.load_pem_x509_certificate(pebble.root_pem)
    for main in after:  # www.example.com is a SAN of ops.example.com: that entry was renewed
        *_, top = chain(after[main])
        top.verify_directly_issued_by(root)
    assert after["grafana.example.com"]["resolver"] == "staging"


async def test_unreachable_ca_fails_the_job_not_the_query(
    traffic_factory: Any, pebble: Pebble, refused_url: str
) -> None:
    t: Traffic = await traffic_factory(
        acme_directory_url=refused_url.replace("http:", "https:") + "/dir",
        acme_ca_bundle=pebble.ca_bundle,
    )
    t.gw.services.traffic.renewer.backoff = 0.01
    before = t.acme_json.read_bytes()
    started = (await t.gw.gql(RENEW, {"d": "billing.example.com"}))["data"]["renewCertificate"]
    job = await wait_job(t, started["id"])
    assert job["state"] == "failed"
    assert job["error"]["code"] == "BACKEND_UNAVAILABLE"
    [row] = job["progress"]
    assert row["state"] == "failed" and row["attempt"] == 3  # retried with backoff
    assert row["code"] == "BACKEND_UNAVAILABLE"
    assert t.acme_json.read_bytes() == before
    body = await t.gw.gql(
        "query($id: ID!) { traffic { renewal(jobId: $id) { state } services { totalCount }"
        " certificates { totalCount } } }",
        {"id": started["id"]},
    )
    assert "errors" not in body
    assert body["data"]["traffic"]["services"]["totalCount"] == 6


async def test_acme_refusal_is_reported_per_domain(
    traffic_factory: Any, pebble: Pebble, tmp_path: Path
) -> None:
    """Pebble refuses an IP address as a DNS identifier: the CA's own problem detail."""
    from tests.traffic.certs import write_acme_json

    t: Traffic = await traffic_factory(**acme(pebble))
    write_acme_json(t.acme_json, {"le": [(["192.0.2.7"], 3), (["ok.example.com"], 3)]})
    started = await t.gw.gql(RENEW_MANY, {"d": ["192.0.2.7", "ok.example.com"]})
    job = await wait_job(t, started["data"]["renewCertificates"]["id"])
    rows = {r["domain"]: r for r in job["progress"]}
    assert rows["ok.example.com"]["state"] == "renewed"
    assert rows["192.0.2.7"]["state"] == "failed", rows
    assert rows["192.0.2.7"]["code"] == "BACKEND_ERROR"
    assert rows["192.0.2.7"]["error"].startswith("acme CA refused:"), rows
    assert "IP address" in rows["192.0.2.7"]["error"]
    assert rows["192.0.2.7"]["attempt"] == 1  # a refusal is final: no retries
    assert job["state"] == "failed" and job["error"]["code"] == "BACKEND_ERROR"


async def test_renewal_input_is_validated(traffic_factory: Any, pebble: Pebble) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    for domain, code in [
        ("../../etc/passwd", "INVALID"),
        ("/etc/shadow", "INVALID"),
        ("a b.example.com", "INVALID"),
        ("unknown.example.com", "NOT_FOUND"),
    ]:
        r = (await t.gw.gql(RENEW, {"d": domain}))["data"]["renewCertificate"]
        assert (r["code"], r["field"]) == (code, "domains"), (domain, r)
    empty = (await t.gw.gql(RENEW_MANY, {"d": []}))["data"]["renewCertificates"]
    assert empty["code"] == "INVALID"
    unconfigured = await traffic_factory(acme_directory_url=None)
    r = (await unconfigured.gw.gql(RENEW, {"d": "ops.example.com"}))["data"]["renewCertificate"]
    assert r["code"] == "NOT_CONFIGURED" and "ACME_DIRECTORY_URL" in r["message"]


async def test_http01_challenge_route_answers_from_the_store(traffic: Traffic) -> None:
    tokens = traffic.gw.services.traffic.http01
    await tokens.present("tok_EN-1", "tok_EN-1.thumbprint")
    response = await traffic.gw.client.get("/.well-known/acme-challenge/tok_EN-1")
    assert response.status_code == 200
    assert response.text == "tok_EN-1.thumbprint"
    assert response.headers["content-type"].startswith("text/plain")
    await tokens.cleanup("tok_EN-1")
    assert (await traffic.gw.client.get("/.well-known/acme-challenge/tok_EN-1")).status_code == 404
    assert (
        await traffic.gw.client.get("/.well-known/acme-challenge/..%2F..%2Fetc")
    ).status_code == 404


async def test_renewal_progress_subscription_follows_the_job(
    live_gateway_factory: Any, pebble: Pebble, acme_json: Path
) -> None:
    gw = await live_gateway_factory(traefik_acme_json=str(acme_json), **acme(pebble))
    started = await gw.gql(RENEW_MANY, {"d": ["ops.example.com", "billing.example.com"]})
    job_id = started["data"]["renewCertificates"]["id"]
    query = """subscription($id: ID!) { renewalProgress(jobId: $id) {
        id state done total progress { domain state } } }"""
    async with subscription(gw, gw.admin_token, query, {"id": job_id}) as ws:
        async with asyncio.timeout(30):
            seen = await collect(ws, "renewalProgress", wait=30)
    assert seen[-1]["state"] == "succeeded" and seen[-1]["done"] == seen[-1]["total"] == 2
    assert {p["state"] for p in seen[-1]["progress"]} == {"renewed"}
    assert all(s["id"] == job_id for s in seen)
