"""A seeded Traefik ``acme.json`` for the sandbox: certificates for the fake Traefik's hosts.

Issued by a throw-away "Sandbox CA" so the chain has an issuer, with expiry dates relative
to now, some inside the 30-day renewal window, so the traffic page has something to warn
about. Layout and mode (0600) are Traefik's (contracts: acme.json).
"""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RESOLVER = "letsencrypt"
# (main domain, SANs, days left): hosts the fake Traefik routes with certResolver letsencrypt.
CERTIFICATES = (
    ("ops.example.com", ("ops.example.com", "graphql.example.com"), 71),
    ("billing.example.com", ("billing.example.com",), 12),
    ("grafana.example.com", ("grafana.example.com",), 44),
    ("legacy.example.com", ("legacy.example.com",), 3),
)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _issue(
    ca_key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime,
    not_after: datetime,
    sans: tuple[str, ...] = (),
    ca: bool = False,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        names = [x509.DNSName(s) for s in sans]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def write_acme_json(
    path: Path, *, now: datetime | None = None, email: str = "ops@example.com"
) -> Path:
    """Write the seeded acme.json at ``path`` (mode 0600) and return the path."""
    now = now or datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Sandbox CA (not trusted)")
    ca_cert = _issue(
        ca_key, ca_name, ca_name, ca_key,
        not_before=now - timedelta(days=365), not_after=now + timedelta(days=3650), ca=True,
    )  # fmt: skip
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    entries = []
    for main, sans, days_left in CERTIFICATES:
        key = ec.generate_private_key(ec.SECP256R1())
        not_after = now + timedelta(days=days_left, hours=6)
        cert = _issue(
            ca_key, ca_name, _name(main), key,
            not_before=not_after - timedelta(days=90), not_after=not_after, sans=sans,
        )  # fmt: skip
        chain = cert.public_bytes(serialization.Encoding.PEM) + ca_pem
        entries.append(
            {
                "domain": {"main": main, "sans": [s for s in sans if s != main]},
                "certificate": base64.b64encode(chain).decode(),
                "key": base64.b64encode(_pem_key(key)).decode(),
                "Store": "default",
            }
        )
    account_key = base64.b64encode(_pem_key(ec.generate_private_key(ec.SECP256R1()))).decode()
    body = {
        RESOLVER: {
            "Account": {
                "Email": email,
                "Registration": {
                    "body": {"status": "valid", "contact": [f"mailto:{email}"]},
                    "uri": "https://acme.sandbox.invalid/acme/acct/1",
                },
                "PrivateKey": account_key,
                "KeyType": "EC256",
            },
            "Certificates": entries,
        }
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(body, out, indent=2)
    os.chmod(path, 0o600)
    return path
