"""Traefik's acme.json: read its certificates, replace one entry atomically with a backup.

``{"<resolver>": {"Account": {...}, "Certificates": [{"domain": {"main", "sans"},
"certificate": <base64 PEM chain>, "key": <base64 PEM key>, "Store": "default"}]}}``, mode
0600. Writers in this process serialise on a lock and across processes on ``flock``; the
file is replaced by rename, so Traefik never reads half a file.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.files import atomic_write, backup

MODE = 0o600
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True, slots=True)
class AcmeEntry:
    resolver: str
    main: str
    sans: list[str]
    certificate: str
    key: str

    @property
    def domains(self) -> list[str]:
        return [self.main, *[s for s in self.sans if s != self.main]]


class AcmeJson:
    def __init__(self, *, path: Path | str) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes() or b"{}")
        except FileNotFoundError:
            return {}
        if not isinstance(data, dict):
            raise ValueError("acme.json is not a JSON object")
        return data

    def entries(self) -> list[AcmeEntry]:
        found = []
        for resolver, section in self.read().items():
            for item in (section or {}).get("Certificates") or []:
                domain = item.get("domain") or {}
                found.append(
                    AcmeEntry(
                        resolver=resolver,
                        main=str(domain.get("main", "")),
                        sans=[str(s) for s in domain.get("sans") or []],
                        certificate=str(item.get("certificate", "")),
                        key=str(item.get("key", "")),
                    )
                )
        return found

    def replace(
        self, *, resolver: str, main: str, certificate_pem: bytes, key_pem: bytes
    ) -> Path | None:
        """Put a new certificate and key in the entry (resolver, main); returns the backup.

        Blocking (file I/O, flock): call it from a worker thread.
        """
        with self._locked():
            data = self.read()
            section = data.setdefault(resolver, {"Account": None, "Certificates": []})
            certificates = section.setdefault("Certificates", []) or []
            section["Certificates"] = certificates
            item = next(
                (c for c in certificates if (c.get("domain") or {}).get("main") == main), None
            )
            if item is None:
                item = {"domain": {"main": main}, "Store": "default"}
                certificates.append(item)
            item["certificate"] = base64.b64encode(certificate_pem).decode()
            item["key"] = base64.b64encode(key_pem).decode()
            saved = backup(self.path) if self.path.exists() else None
            atomic_write(self.path, json.dumps(data, indent=2).encode(), mode=MODE)
            return saved

    @contextmanager
    def _locked(self) -> Iterator[None]:
        key = str(self.path.resolve())
        with _locks_guard:
            lock = _locks.setdefault(key, threading.Lock())
        with lock:
            lock_path = self.path.with_name(f".{self.path.name}.lock")
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
