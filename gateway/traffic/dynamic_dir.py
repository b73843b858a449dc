"""The Traefik file-provider directory (``TRAEFIK_DYNAMIC_DIR``) the gateway may write.

Every write is validated, atomic (:func:`gateway.files.atomic_write`) and confined to
the directory: names are checked against a strict pattern and the resolved path must sit
directly inside the directory, so ``../`` or a symlink cannot lead anywhere else.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from gateway.errors import BadUserInput
from gateway.files import atomic_write

EXTENSIONS = (".yml", ".yaml", ".toml")
NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,62}[A-Za-z0-9])?$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)(?:\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
SERVICE_KINDS = ("loadBalancer", "weighted", "mirroring", "failover")


def check_name(name: str, *, field: str = "name") -> str:
    """A file or object name: letters, digits, ``_.-``; no path separators, no ``..``."""
    if not NAME.fullmatch(name) or ".." in name:
        raise BadUserInput(
            f"invalid name {name[:100]!r}: use letters, digits, '_', '.', '-'", field=field
        )
    return name


def check_hostname(host: str, *, field: str = "host") -> str:
    host = host.strip().lower().rstrip(".")
    if not HOSTNAME.fullmatch(host):
        raise BadUserInput(f"invalid host name {host[:100]!r}", field=field)
    return host


def validate_config(config: Any) -> None:
    """The shape Traefik's file provider accepts for what the gateway writes."""
    if not isinstance(config, dict) or not config:
        raise BadUserInput("a dynamic configuration must be a non-empty mapping", field="config")
    unknown = set(config) - {"http", "tcp", "udp", "tls"}
    if unknown:
        raise BadUserInput(f"unknown top-level keys: {sorted(unknown)}", field="config")
    http = config.get("http") or {}
    for name, router in (http.get("routers") or {}).items():
        check_name(name, field="router")
        if not isinstance(router, dict) or not router.get("rule") or not router.get("service"):
            raise BadUserInput(f"router {name!r} needs a rule and a service", field="router")
    for name, service in (http.get("services") or {}).items():
        check_name(name, field="service")
        kinds = [k for k in SERVICE_KINDS if isinstance(service, dict) and k in service]
        if len(kinds) != 1:
            raise BadUserInput(
                f"service {name!r} needs exactly one of {SERVICE_KINDS}", field="service"
            )
        for server in (service.get("loadBalancer") or {}).get("servers", []):
            url = urlsplit(str(server.get("url", "")))
            if url.scheme not in ("http", "https", "h2c") or not url.hostname:
                raise BadUserInput(f"service {name!r} has an invalid server URL", field="service")


@dataclass(frozen=True, slots=True)
class ConfigFile:
    path: Path
    config: dict[str, Any]
    text: bytes


class DynamicDir:
    def __init__(self, *, root: Path | str) -> None:
        self.root = Path(root)

    def path_for(self, name: str, suffix: str = ".yml") -> Path:
        """Where ``<name><suffix>`` is written: directly in the directory, and not through a
        link (one planted there would redirect the write to another file, in the directory
        or not)."""
        check_name(name)
        if suffix not in EXTENSIONS:
            raise BadUserInput(f"unsupported file type {suffix!r}", field="name")
        path = self.root / f"{name}{suffix}"
        if path.is_symlink():
            raise BadUserInput(
                f"{path.name} in TRAEFIK_DYNAMIC_DIR is a link: refusing to write through it",
                field="name",
            )
        return self._inside(path)

    def _inside(self, path: Path) -> Path:
        root = self.root.resolve()
        resolved = path.resolve()
        if resolved.parent != root:
            raise BadUserInput("path escapes TRAEFIK_DYNAMIC_DIR", field="name")
        return resolved

    def locate(self, ref: Path | str) -> Path:
        """``ref`` as a configuration names a file: absolute, or relative to the directory."""
        path = Path(ref)
        return path if path.is_absolute() else self.root / path

    def contains(self, path: Path | str) -> bool:
        """Whether ``path`` (absolute or relative to the directory) resolves inside it."""
        return self.locate(path).resolve().is_relative_to(self.root.resolve())

    def write(self, name: str, config: dict[str, Any]) -> Path:
        """Validate ``config`` and write it as ``<name>.yml``, atomically."""
        validate_config(config)
        path = self.path_for(name)
        text = yaml.safe_dump(config, sort_keys=False, default_flow_style=False)
        atomic_write(path, text.encode())
        return path

    def rewrite(self, path: Path) -> None:
        """Write a file again (same bytes, new inode): the watcher reloads it."""
        path = self._inside(path)
        data = path.read_bytes()
        load(path.suffix, data)  # refuse to touch a file Traefik could not read either
        atomic_write(path, data, mode=path.stat().st_mode & 0o777)

    def files(self) -> list[ConfigFile]:
        """Every configuration file Traefik would load (unreadable ones are skipped)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if path.suffix not in EXTENSIONS or not path.is_file():
                continue
            try:
                data = path.read_bytes()
                config = load(path.suffix, data)
            except (OSError, ValueError):
                continue
            if isinstance(config, dict):
                found.append(ConfigFile(path=path, config=config, text=data))
        return found

    def service_file(self, service: str) -> ConfigFile | None:
        """The file defining HTTP service ``service`` (name without ``@file``)."""
        for file in self.files():
            if service in ((file.config.get("http") or {}).get("services") or {}):
                return file
        return None


def load(suffix: str, data: bytes) -> Any:
    try:
        if suffix == ".toml":
            return tomllib.loads(data.decode())
        return yaml.safe_load(data)
    except (yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"unparsable configuration: {exc}") from None
