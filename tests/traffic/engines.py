"""Real components for the traffic tests: podman's Docker API service and pebble (ACME).

Both run from temporary directories that are removed afterwards. Without the binaries the
tests skip with the reason, except under ``CI=true`` where a missing install is a failure
(``.ci/install-traffic.sh`` installs both).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.sandbox import pebble
from gateway.sandbox.pebble import Pebble, PebbleMissing, stop_process, wait_until

IMAGE = "localhost/ogw-tiny:1"


def unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: run .ci/install-traffic.sh)")
    pytest.skip(reason)


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

        wait_until(answers, "podman system service")
        yield Podman(url=f"unix://{sock}", containers=created)
    finally:
        if service is not None:
            stop_process(service)
        shutil.rmtree(base, ignore_errors=True)


# -- pebble ---------------------------------------------------------------------------------
@contextlib.contextmanager
def pebble_server() -> Iterator[Pebble]:
    try:
        with pebble.pebble_server() as server:
            yield server
    except PebbleMissing as exc:
        unavailable(str(exc))
