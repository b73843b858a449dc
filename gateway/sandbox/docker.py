"""A fake Docker Engine API for ``serve --sandbox`` (the tests use podman's real one).

Enough of the API for discovery: ``/version`` (aiodocker asks it first), ``/_ping``,
``/v<api>/info``, ``/v<api>/containers/json`` with ``all`` and ``label`` filters, and
``/v<api>/containers/{id}/json``; errors are ``{"message": ...}`` as dockerd sends them.
Point the gateway at it with ``DOCKER_HOST=tcp://127.0.0.1:<port>`` (:meth:`settings_for`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gateway.sandbox.base import Sandbox

API_VERSION = "1.43"
CREATED = 1736150400  # 2025-01-06T08:00:00Z


def _container(
    name: str,
    image: str,
    state: str,
    *,
    labels: dict[str, str] | None = None,
    ports: list[dict[str, Any]] | None = None,
    networks: tuple[str, ...] = ("bridge",),
) -> dict[str, Any]:
    cid = hashlib.sha256(name.encode()).hexdigest()
    return {
        "Id": cid,
        "Names": [f"/{name}"],
        "Image": image,
        "ImageID": "sha256:" + hashlib.sha256(image.encode()).hexdigest(),
        "Command": "/entrypoint.sh",
        "Created": CREATED,
        "Ports": ports or [],
        "Labels": labels or {},
        "State": state,
        "Status": "Up 3 days" if state == "running" else "Exited (0) 2 hours ago",
        "HostConfig": {"NetworkMode": networks[0]},
        "NetworkSettings": {
            "Networks": {
                net: {
                    "IPAddress": f"172.18.0.{10 + i}" if state == "running" else "",
                    "NetworkID": hashlib.sha256(net.encode()).hexdigest(),
                    "Aliases": [name, cid[:12]],
                }
                for i, net in enumerate(networks)
            }
        },
        "Mounts": [],
    }


def seed() -> list[dict[str, Any]]:
    enable = {"traefik.enable": "true"}
    return [
        _container(
            "whoami",
            "traefik/whoami:v1.10",
            "running",
            labels={**enable, "traefik.http.routers.whoami.rule": "Host(`whoami.example.com`)"},
            ports=[{"PrivatePort": 80, "Type": "tcp"}],
            networks=("proxy",),
        ),
        _container(
            "minio",
            "minio/minio:RELEASE.2024-12-18",
            "running",
            labels={
                **enable,
                "traefik.docker.network": "proxy",
                "traefik.http.services.minio.loadbalancer.server.port": "9001",
            },
            ports=[{"PrivatePort": 9000, "Type": "tcp"}, {"PrivatePort": 9001, "Type": "tcp"}],
            networks=("proxy", "storage"),
        ),
        _container(
            "jupyter",
            "quay.io/jupyter/base-notebook:2024-12-23",
            "exited",
            labels=enable,
            ports=[{"PrivatePort": 8888, "Type": "tcp"}],
        ),
        _container(
            "postgres",
            "postgres:16",
            "running",
            ports=[{"PrivatePort": 5432, "Type": "tcp"}],
            networks=("storage",),
        ),
    ]


def _error(status: int, message: str) -> Response:
    return JSONResponse({"message": message}, status)


class DockerSandbox(Sandbox):
    def __init__(self, *, latency: float = 0.0) -> None:
        self.containers = seed()
        routes = [
            Route("/version", self._version),
            Route("/v{api}/version", self._version),
            Route("/_ping", lambda r: PlainTextResponse("OK")),
            Route("/v{api}/_ping", lambda r: PlainTextResponse("OK")),
            Route("/v{api}/info", self._info),
            Route("/v{api}/containers/json", self._list),
            Route("/v{api}/containers/{ref}/json", self._inspect),
        ]
        super().__init__(Starlette(routes=routes), latency=latency)

    @staticmethod
    def settings_for(url: str) -> dict[str, object]:
        return {"docker_host": url.replace("http://", "tcp://")}

    async def _version(self, request: Request) -> Response:
        return JSONResponse(
            {
                "Version": "24.0.7",
                "ApiVersion": API_VERSION,
                "MinAPIVersion": "1.12",
                "Os": "linux",
                "Arch": "amd64",
                "KernelVersion": "6.1.0",
            }
        )

    async def _info(self, request: Request) -> Response:
        running = sum(1 for c in self.containers if c["State"] == "running")
        return JSONResponse(
            {
                "Containers": len(self.containers),
                "ContainersRunning": running,
                "ContainersStopped": len(self.containers) - running,
                "Name": "sandbox",
                "ServerVersion": "24.0.7",
            }
        )

    async def _list(self, request: Request) -> Response:
        every = request.query_params.get("all") in ("1", "true", "True")
        try:
            filters = json.loads(request.query_params.get("filters") or "{}")
        except ValueError:
            return _error(400, "invalid filter: not JSON")
        labels = filters.get("label") or []
        if not isinstance(labels, list):
            return _error(400, "invalid filter 'label': expected a list")
        found = []
        for c in self.containers:
            if not every and c["State"] != "running":
                continue
            if all(_has_label(c["Labels"], wanted) for wanted in labels):
                found.append(c)
        return JSONResponse(found)

    async def _inspect(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        for c in self.containers:
            if ref in (c["Names"][0].lstrip("/"), c["Id"]) or c["Id"].startswith(ref):
                return JSONResponse({**c, "Name": c["Names"][0], "Config": {"Labels": c["Labels"]}})
        return _error(404, f"No such container: {ref}")


def _has_label(labels: dict[str, str], wanted: str) -> bool:
    key, sep, value = wanted.partition("=")
    return key in labels and (not sep or labels[key] == value)


def create_app(*, latency: float = 0.0) -> DockerSandbox:
    return DockerSandbox(latency=latency)
