"""The fake Traefik's configuration: seeded docker/internal objects plus a file provider.

With ``dynamic_dir`` the sandbox behaves like Traefik's file provider watching that directory:
every ``.yml``/``.yaml``/``.toml`` file there is re-read when it changes, its routers, services
and middlewares appear as ``<name>@file``, and a file that does not parse is skipped (and
counted as a failed reload), as Traefik does. Without it, a few file objects are seeded.
"""

from __future__ import annotations

import copy
import threading
import tomllib
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]
EXTENSIONS = (".yml", ".yaml", ".toml")
START_DATE = "2025-01-06T08:00:00.000000000Z"


def _router(name: str, rule: str, service: str, eps: list[str], **extra: Any) -> Obj:
    provider = name.rsplit("@", 1)[1]
    # Traefik drops the provider from a service of the router's own provider.
    own = service.endswith(f"@{provider}") and provider != "internal"
    return {
        "entryPoints": eps,
        "service": service.rsplit("@", 1)[0] if own else service,
        "rule": rule,
        "status": "enabled",
        "using": eps,
        "name": name,
        "provider": provider,
        **extra,
    }


def _lb(name: str, urls: list[str], *, down: tuple[str, ...] = (), **extra: Any) -> Obj:
    return {
        "loadBalancer": {"servers": [{"url": u} for u in urls], "passHostHeader": True, **extra},
        "status": "enabled",
        "usedBy": [],
        "serverStatus": {u: ("DOWN" if u in down else "UP") for u in urls},
        "name": name,
        "provider": name.rsplit("@", 1)[1],
        "type": "loadbalancer",
    }


def seed_static() -> tuple[dict[str, Obj], dict[str, Obj], dict[str, Obj]]:
    """Routers, services and middlewares of the docker and internal providers."""
    tls = {"certResolver": "letsencrypt"}
    routers = [
        _router(
            "api@internal", "PathPrefix(`/api`)", "api@internal", ["traefik"], priority=2147483646
        ),
        _router("dashboard@internal", "PathPrefix(`/`)", "dashboard@internal", ["traefik"]),
        _router(
            "gateway@docker",
            "Host(`ops.example.com`)",
            "gateway@docker",
            ["websecure"],
            middlewares=["compress@docker", "ratelimit@file"],
            tls=tls,
        ),
        _router(
            "lago@docker", "Host(`billing.example.com`)", "lago@docker", ["websecure"], tls=tls
        ),
        _router(
            "legacy@docker",
            "Host(`legacy.example.com`)",
            "legacy@docker",
            ["web"],
            middlewares=["missing@docker"],
        ),
    ]
    routers[-1]["status"] = "disabled"
    routers[-1]["error"] = ['middleware "missing@docker" does not exist']
    services = [
        {"status": "enabled", "usedBy": [], "name": "api@internal", "provider": "internal"},
        {"status": "enabled", "usedBy": [], "name": "dashboard@internal", "provider": "internal"},
        _lb(
            "gateway@docker",
            ["http://172.18.0.5:8000", "http://172.18.0.6:8000"],
            healthCheck={"path": "/healthz", "interval": "10s"},
        ),
        _lb("lago@docker", ["http://172.18.0.7:3000"]),
        _lb(
            "legacy@docker",
            ["http://172.18.0.9:8080", "http://172.18.0.10:8080"],
            down=("http://172.18.0.10:8080",),
        ),
    ]
    middlewares = [
        {
            "compress": {},
            "status": "enabled",
            "usedBy": [],
            "name": "compress@docker",
            "provider": "docker",
            "type": "compress",
        },
        {
            "basicAuth": {"users": ["admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]},
            "status": "enabled",
            "usedBy": [],
            "name": "auth@docker",
            "provider": "docker",
            "type": "basicauth",
        },
    ]
    return _index(routers), _index(services), _index(middlewares)


SEED_FILE_CONFIG: dict[str, Any] = {
    "http": {
        "routers": {
            "grafana": {
                "rule": "Host(`grafana.example.com`)",
                "service": "grafana",
                "entryPoints": ["websecure"],
                "middlewares": ["redirect-https"],
                "tls": {"certResolver": "letsencrypt"},
            },
            "models": {"rule": "Host(`models.example.com`)", "service": "models"},
        },
        "services": {
            "grafana": {"loadBalancer": {"servers": [{"url": "http://10.0.0.7:3000"}]}},
            "models": {
                "loadBalancer": {
                    "servers": [{"url": "http://10.0.0.21:8080"}, {"url": "http://10.0.0.22:8080"}]
                }
            },
        },
        "middlewares": {
            "redirect-https": {"redirectScheme": {"scheme": "https", "permanent": True}},
            "ratelimit": {"rateLimit": {"average": 100, "burst": 50}},
        },
    }
}


def _index(items: list[Obj]) -> dict[str, Obj]:
    return {item["name"]: item for item in items}


def _qualify(name: str) -> str:
    return name if "@" in name else f"{name}@file"


def file_objects(config: dict[str, Any], down: set[str]) -> tuple[Obj, Obj, Obj]:
    """What Traefik shows for one file-provider configuration."""
    http = config.get("http") or {}
    routers: Obj = {}
    for name, r in (http.get("routers") or {}).items():
        eps = list(r.get("entryPoints") or ["web", "websecure"])
        extra = {k: r[k] for k in ("middlewares", "tls", "priority") if k in r}
        if "middlewares" in extra:
            extra["middlewares"] = [_qualify(m) for m in extra["middlewares"]]
        routers[f"{name}@file"] = _router(
            f"{name}@file",
            str(r.get("rule", "")),
            _qualify(str(r.get("service", ""))),
            eps,
            **extra,
        )
    services: Obj = {}
    for name, s in (http.get("services") or {}).items():
        lb = s.get("loadBalancer")
        if lb is None:
            services[f"{name}@file"] = _typed(name, s)
            continue
        urls = [str(x.get("url", "")) for x in lb.get("servers") or []]
        extra = {k: v for k, v in lb.items() if k != "servers"}
        services[f"{name}@file"] = _lb(f"{name}@file", urls, down=tuple(down), **extra)
    middlewares: Obj = {}
    for name, m in (http.get("middlewares") or {}).items():
        middlewares[f"{name}@file"] = _typed(name, m)
    return routers, services, middlewares


def _typed(name: str, spec: dict[str, Any]) -> Obj:
    """A file object configured under a key naming its type (a middleware, a weighted,
    mirroring or failover service), as Traefik shows it."""
    kind = next(iter(spec), "unknown")
    return {
        kind: spec[kind],
        "status": "enabled",
        "usedBy": [],
        "name": f"{name}@file",
        "provider": "file",
        "type": kind.lower(),
    }


class TraefikState:
    """Thread-safe: the server thread reads, tests and the CLI change it."""

    def __init__(self, *, dynamic_dir: Path | None = None) -> None:
        self.dynamic_dir = dynamic_dir
        self.down: set[str] = set()  # server URLs whose health check fails
        self.extra_requests: dict[tuple[str, str], int] = {}  # (service, code) -> count
        self.reloads = 0
        self.last_reload_ok = True
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._files: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def set_down(self, url: str, down: bool = True) -> None:
        with self._lock:
            (self.down.add if down else self.down.discard)(url)

    def record(self, service: str, code: str = "200", count: int = 1) -> None:
        with self._lock:
            key = (service, code)
            self.extra_requests[key] = self.extra_requests.get(key, 0) + count

    def snapshot(self) -> tuple[dict[str, Obj], dict[str, Obj], dict[str, Obj]]:
        """Routers, services and middlewares as Traefik would show them right now."""
        routers, services, middlewares = seed_static()
        with self._lock:
            configs = list(self._load_files().values()) if self.dynamic_dir else [SEED_FILE_CONFIG]
            down = set(self.down)
        for config in configs:
            r, s, m = file_objects(config, down)
            routers.update(r)
            services.update(s)
            middlewares.update(m)
        for service in services.values():
            status = service.get("serverStatus") or {}
            for url in status:
                status[url] = "DOWN" if url in down else status[url]
            service["usedBy"] = sorted(
                n for n, r in routers.items() if _qualify_for(r) == service["name"]
            )
        for mw in middlewares.values():
            mw["usedBy"] = sorted(
                n for n, r in routers.items() if mw["name"] in r.get("middlewares", [])
            )
        return copy.deepcopy(routers), services, middlewares

    def tls_certificates(self) -> list[dict[str, Any]]:
        with self._lock:
            configs = list(self._load_files().values()) if self.dynamic_dir else []
        return [
            c for config in configs for c in ((config.get("tls") or {}).get("certificates") or [])
        ]

    def _load_files(self) -> dict[str, dict[str, Any]]:
        """Re-read the directory when a file changed (fsnotify's job in Traefik)."""
        assert self.dynamic_dir is not None
        paths = sorted(
            p for p in self.dynamic_dir.glob("*") if p.suffix in EXTENSIONS and p.is_file()
        )
        signature = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
        if signature == self._signature:
            return self._files
        files: dict[str, dict[str, Any]] = {}
        ok = True
        for path in paths:
            try:
                text = path.read_text()
                data = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
            except (OSError, ValueError, yaml.YAMLError):
                ok = False
                continue
            if isinstance(data, dict):
                files[path.name] = data
        if self._signature is not None:
            self.reloads += 1
        self._signature, self._files, self.last_reload_ok = signature, files, ok
        return files


def _qualify_for(router: Obj) -> str:
    service = str(router.get("service", ""))
    return service if "@" in service else f"{service}@{router['provider']}"
