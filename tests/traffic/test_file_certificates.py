"""Certificates of the file provider (tls.certificates in the dynamic dir), and DNS-01."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from cryptography import x509

from tests.traffic.certs import make_cert
from tests.traffic.conftest import Traffic
from tests.traffic.engines import Pebble
from tests.traffic.test_renewal import acme, wait_job

RENEW = """mutation($d: String!, $c: AcmeChallenge!) { renewCertificate(domain: $d, challenge: $c) {
    __typename ... on RenewalJob { id } ... on TrafficError { code message } } }"""
HOOK = """\
import os, sys
with open(sys.argv[0] + ".log", "a") as log:
    log.write(" ".join(sys.argv[1:4]) + "\\n")
"""


def tls_config(dynamic: Path, domain: str, cert_ref: str, key_ref: str) -> None:
    (dynamic / "tls.yml").write_text(
        f"tls:\n  certificates:\n    - certFile: {cert_ref}\n      keyFile: {key_ref}\n"
    )


async def test_file_certificates_are_listed_and_renewed_in_place(
    traffic_factory: Any, pebble: Pebble
) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    cert, key = make_cert(["files.example.com", "alt.example.com"], days=2, issuer="Old CA")
    (t.dynamic / "certs").mkdir()
    (t.dynamic / "certs" / "files.crt").write_bytes(cert)
    (t.dynamic / "certs" / "files.key").write_bytes(key)
    tls_config(t.dynamic, "files.example.com", "certs/files.crt", "certs/files.key")

    listed = await t.gw.gql(
        "{ traffic { certificates { nodes { main domains sans issuer source location daysLeft } } } }"
    )
    nodes = {n["main"]: n for n in listed["data"]["traffic"]["certificates"]["nodes"]}
    files = nodes["files.example.com"]
    assert files["source"] == "FILE" and files["issuer"] == "Old CA"
    assert files["sans"] == ["files.example.com", "alt.example.com"]
    assert files["location"] == str(t.dynamic / "tls.yml") and files["daysLeft"] == 1

    started = await t.gw.gql(RENEW, {"d": "alt.example.com", "c": "HTTP_01"})
    job = await wait_job(t, started["data"]["renewCertificate"]["id"])
    assert job["state"] == "succeeded", job
    new = x509.load_pem_x509_certificates((t.dynamic / "certs" / "files.crt").read_bytes())
    new[-1].verify_directly_issued_by(x509.load_pem_x509_certificate(pebble.root_pem))
    assert oct((t.dynamic / "certs" / "files.key").stat().st_mode & 0o777) == oct(0o600)
    assert Path(job["progress"][0]["backup"]).read_bytes() == cert  # noqa: ASYNC240


async def test_certificate_files_outside_the_dynamic_dir_are_not_written(
    traffic_factory: Any, pebble: Pebble, tmp_path: Path
) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    cert, key = make_cert(["outside.example.com"], days=2)
    (tmp_path / "outside.crt").write_bytes(cert)
    (tmp_path / "outside.key").write_bytes(key)
    tls_config(
        t.dynamic,
        "outside.example.com",
        str(tmp_path / "outside.crt"),
        str(tmp_path / "outside.key"),
    )
    started = await t.gw.gql(RENEW, {"d": "outside.example.com", "c": "HTTP_01"})
    job = await wait_job(t, started["data"]["renewCertificate"]["id"])
    assert job["state"] == "failed"
    assert "outside TRAEFIK_DYNAMIC_DIR" in job["progress"][0]["error"]
    assert (tmp_path / "outside.crt").read_bytes() == cert


async def test_dns01_runs_the_hook_command(
    traffic_factory: Any, pebble: Pebble, tmp_path: Path
) -> None:
    hook = tmp_path / "hook.py"
    hook.write_text(HOOK)
    t: Traffic = await traffic_factory(**acme(pebble), acme_dns_hook=f"{sys.executable} {hook}")
    started = await t.gw.gql(RENEW, {"d": "billing.example.com", "c": "DNS_01"})
    job = await wait_job(t, started["data"]["renewCertificate"]["id"])
    assert job["state"] == "succeeded", job
    calls = (tmp_path / "hook.py.log").read_text().splitlines()
    assert [c.split()[:2] for c in calls] == [
        ["present", "_acme-challenge.billing.example.com"],
        ["cleanup", "_acme-challenge.billing.example.com"],
    ]
    assert calls[0].split()[2] == calls[1].split()[2]  # the same TXT value


async def test_dns01_without_a_hook_is_refused(traffic_factory: Any, pebble: Pebble) -> None:
    t: Traffic = await traffic_factory(**acme(pebble))
    r = (await t.gw.gql(RENEW, {"d": "billing.example.com", "c": "DNS_01"}))["data"]
    assert r["renewCertificate"]["code"] == "NOT_CONFIGURED"
    assert "ACME_DNS_HOOK" in r["renewCertificate"]["message"]
