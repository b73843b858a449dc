"""Real components for the traffic tests: podman's Docker API service and pebble (ACME).

Both run from temporary directories that are removed afterwards. Without the binaries the
tests skip with the reason, except under ``CI=true`` where a missing install is a failure
(``.ci/install-traffic.sh`` installs both).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.plugins.servers import free_port

IMAGE = "localhost/ogw-tiny:1"


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: run .ci/install-traffic.sh)")
    pytest.skip(reason)


def _wait(check: object, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if check():  # type: ignore[operator]
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up in {timeout:g}s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# -- podman ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Podman:
    url: str
    """``unix:///…/docker.sock`` for DOCKER_HOST."""
    containers: dict[str, str]
    """name -> id of the containers created for the tests."""


def _rootfs_tar(path: Path) -> None:
    """The smallest image worth importing: one file."""
    with tarfile.open(path, "w") as tar:
        data = b"#!/bin/sh\necho hello\n"
        info = tarfile.TarInfo("bin/hello")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))


@contextlib.contextmanager
def podman_service() -> Iterator[Podman]:
    binary = shutil.which("podman")
    if binary is None:
        unavailable("podman is not installed (apt-get install podman)")
    base = Path(tempfile.mkdtemp(prefix="ogw-podman-", dir="/tmp"))  # short: unix socket paths
    cmd = [
        binary or "podman",
        "--root", str(base / "root"),
        "--runroot", str(base / "run"),
        "--tmpdir", str(base / "tmp"),
        "--network-config-dir", str(base / "networks"),
        "--storage-driver", "vfs",
        "--cgroup-manager", "cgroupfs",
        "--events-backend", "none",
    ]  # fmt: skip
    env = {**os.environ, "XDG_RUNTIME_DIR": str(base / "xdg"), "HOME": str(base)}
    service: subprocess.Popen[bytes] | None = None

    def podman(*args: str) -> str:
        done = subprocess.run(
            [*cmd, *args], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"podman {args[0]} failed: {done.stderr.strip()[:400]}")
        return done.stdout.strip()

    try:
        (base / "xdg").mkdir(mode=0o700)
        _rootfs_tar(base / "rootfs.tar")
        podman("import", str(base / "rootfs.tar"), IMAGE)
        podman("network", "create", "ogw-front")
        podman("network", "create", "ogw-back")
        created = {
            "web": podman(
                "create", "--name", "web", "-p", "18080:80",
                "--label", "traefik.enable=true",
                "--label", "traefik.http.routers.web.rule=Host(`web.example.com`)",
                IMAGE, "/bin/hello",
            ),
            "api": podman(
                "create", "--name", "api", "--network", "ogw-front", "--network", "ogw-back",
                "--expose", "9000", "--expose", "8000",
                "--label", "traefik.enable=true",
                "--label", "traefik.docker.network=ogw-front",
                "--label", "traefik.http.services.api.loadbalancer.server.port=8000",
                IMAGE, "/bin/hello",
            ),
            "plain": podman(
                "create", "--name", "plain", "--network", "ogw-front", "--network", "ogw-back",
                "--label", "traefik.enable=true", IMAGE, "/bin/hello",
            ),
            "hidden": podman("create", "--name", "hidden", IMAGE, "/bin/hello"),
        }  # fmt: skip
        sock = base / "docker.sock"
        service = subprocess.Popen(
            [*cmd, "system", "service", "--time=0", f"unix://{sock}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            with socket.socket(socket.AF_UNIX) as client:
                client.connect(str(sock))
                client.sendall(b"GET /_ping HTTP/1.0\r\nHost: d\r\n\r\n")
                return b"OK" in client.recv(4096)

        _wait(answers, "podman system service")
        yield Podman(url=f"unix://{sock}", containers=created)
    finally:
        if service is not None:
            _stop(service)
        shutil.rmtree(base, ignore_errors=True)


# -- pebble ---------------------------------------------------------------------------------
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


@contextlib.contextmanager
def pebble_server() -> Iterator[Pebble]:
    binary = shutil.which("pebble")
    if binary is None:
        unavailable("pebble is not installed (apt-get install pebble)")
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
            [binary or "pebble", "-config", str(base / "pebble.json")],
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
        _wait(lambda: bool(fetch(directory)), "pebble")
        root = fetch(f"https://localhost:{mgmt}/roots/0")
        yield Pebble(directory_url=directory, ca_bundle=str(ca), root_pem=root)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(base, ignore_errors=True)
