"""Pebble, Let's Encrypt's ACME test server, as a real component for the renewal tests and
``make chaos``: started from a temporary directory on free ports with a throwaway TLS CA,
challenges always valid (``PEBBLE_VA_ALWAYS_VALID``), removed afterwards."""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.sandbox.server import free_port


class PebbleMissing(RuntimeError):
    """The ``pebble`` binary is not on PATH."""


@dataclass(frozen=True)
class Pebble:
    directory_url: str
    ca_bundle: str
    """Trust for pebble's HTTPS API (ACME_CA_BUNDLE)."""
    root_pem: bytes
    """Pebble's issuing root, new on every start (management /roots/0)."""


def _tls_files(base: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a localhost certificate signed by it: (ca, cert, key)."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ogw test TLS CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = (base / "ca.pem", base / "cert.pem", base / "key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    """Poll ``check`` (a failed connection counts as not yet) until true, or raise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if check():
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout:g}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 5 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def pebble_server() -> Iterator[Pebble]:
    """Pebble on free ports with a throwaway TLS CA (removed afterwards); ``PebbleMissing``
    when it is not installed."""
    binary = shutil.which("pebble")
    if binary is None:
        raise PebbleMissing("pebble is not installed (apt-get install pebble)")
    base = Path(tempfile.mkdtemp(prefix="ogw-pebble-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        ca, cert, key = _tls_files(base)
        port, mgmt = free_port(), free_port()
        config = {
            "pebble": {
                "listenAddress": f"127.0.0.1:{port}",
                "managementListenAddress": f"127.0.0.1:{mgmt}",
                "certificate": str(cert),
                "privateKey": str(key),
                "httpPort": free_port(),
                "tlsPort": free_port(),
                "ocspResponderURL": "",
                "externalAccountBindingRequired": False,
            }
        }
        (base / "pebble.json").write_text(json.dumps(config))
        env = {
            **os.environ,
            "PEBBLE_VA_ALWAYS_VALID": "1",
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": "0",
        }
        process = subprocess.Popen(
            [binary, "-config", str(base / "pebble.json")],
            env=env,
            cwd=base,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        context = ssl.create_default_context(cafile=str(ca))

        def fetch(url: str) -> bytes:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:
                return response.read()

        directory = f"https://localhost:{port}/dir"
        wait_until(lambda: bool(fetch(directory)), "pebble")
        root = fetch(f"https://localhost:{mgmt}/roots/0")
        yield Pebble(directory_url=directory, ca_bundle=str(ca), root_pem=root)
    finally:
        if process is not None:
            stop_process(process)
        shutil.rmtree(base, ignore_errors=True)
