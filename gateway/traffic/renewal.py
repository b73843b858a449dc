"""Certificate renewal: find where a certificate lives, order a new one, write it back.

:class:`Renewer` knows the certificate sources (acme.json, the dynamic directory), the ACME
client and how challenges are published. :meth:`Renewer.run` renews several domains in
parallel under a bound, retrying transient CA failures with backoff, and reports a progress
document after every step; the job framework persists and publishes it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.backends.acme.challenges import DnsHook, Http01Tokens
from gateway.backends.acme.client import AcmeClient, ChallengeKind, Issued
from gateway.errors import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    BadUserInput,
    GatewayError,
    NotConfigured,
    NotFound,
)
from gateway.traffic.accounts import AcmeAccounts
from gateway.traffic.acme_json import AcmeJson
from gateway.traffic.certificates import CertificateInfo, describe, from_acme_json, from_dynamic_dir
from gateway.traffic.dynamic_dir import DynamicDir, check_hostname
from gateway.traffic.writeback import write_file_certificate

Progress = dict[str, Any]
Report = Callable[[Progress], Awaitable[None]]
TRANSIENT = (BackendUnavailable, BackendTimeout)


@dataclass(frozen=True, slots=True)
class Renewed:
    domain: str
    not_after: str
    serial: str
    issuer: str
    written_to: str
    backup: str | None


class Renewer:
    def __init__(
        self,
        *,
        acme: AcmeClient,
        accounts: AcmeAccounts,
        http01: Http01Tokens,
        acme_json: AcmeJson | None,
        dynamic_dir: DynamicDir | None,
        dns: DnsHook | None = None,
        concurrency: int = 4,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self.acme = acme
        self.accounts = accounts
        self.http01 = http01
        self.acme_json = acme_json
        self.dynamic_dir = dynamic_dir
        self.dns = dns
        self.concurrency = max(1, concurrency)
        self.attempts = max(1, attempts)
        self.backoff = backoff

    def check_ready(self, kind: ChallengeKind) -> None:
        """Raise what would make every renewal fail before any job is queued."""
        if not self.acme.configured:
            raise NotConfigured("acme", "ACME_DIRECTORY_URL")
        if self.acme_json is None and self.dynamic_dir is None:
            raise NotConfigured("traefik", "TRAEFIK_ACME_JSON or TRAEFIK_DYNAMIC_DIR")
        if kind == "dns-01" and self.dns is None:
            raise NotConfigured("acme", "ACME_DNS_HOOK")

    def certificates(self) -> tuple[list[CertificateInfo], list[str]]:
        """Blocking (file reads): every known certificate and the problems met reading them."""
        found: list[CertificateInfo] = []
        problems: list[str] = []
        for source, reader in (
            (self.acme_json, from_acme_json),
            (self.dynamic_dir, from_dynamic_dir),
        ):
            if source is None:
                continue
            try:
                certs, notes = reader(source)  # type: ignore[operator]
            except (OSError, ValueError) as exc:
                certs, notes = [], [f"{type(exc).__name__}: {str(exc)[:120]}"]
            found.extend(certs)
            problems.extend(notes)
        return found, problems

    def locate(self, domain: str) -> CertificateInfo:
        """Blocking: the certificate for ``domain`` (validated first: no path tricks)."""
        domain = check_hostname(domain, field="domain")
        certs, _ = self.certificates()
        return find_certificate(certs, domain)

    async def renew(self, cert: CertificateInfo, kind: ChallengeKind) -> Renewed:
        assert self.acme.directory_url is not None
        key = await self.accounts.key_for(self.acme.directory_url)
        issued = await self.acme.issue(
            cert.domains, account_key_pem=key, kind=kind, http01=self.http01, dns=self.dns
        )
        return await asyncio.to_thread(self._write_back, cert, issued)

    def _write_back(self, cert: CertificateInfo, issued: Issued) -> Renewed:
        origin = cert.origin
        if origin.source == "acme":
            assert self.acme_json is not None and origin.resolver is not None
            saved = self.acme_json.replace(
                resolver=origin.resolver,
                main=cert.main,
                certificate_pem=issued.fullchain_pem,
                key_pem=issued.key_pem,
            )
            written = str(self.acme_json.path)
        else:
            assert self.dynamic_dir is not None
            written, saved = write_file_certificate(self.dynamic_dir, cert, issued)
        new = describe(issued.fullchain_pem, origin=origin)
        return Renewed(
            domain=cert.main,
            not_after=new.not_after.isoformat(),
            serial=new.serial,
            issuer=new.issuer,
            written_to=written,
            backup=str(saved) if saved else None,
        )

    async def run(self, domains: list[str], kind: ChallengeKind, report: Report) -> Progress:
        """Renew each domain (bounded parallelism, retries); returns the final progress."""
        progress: Progress = {
            "total": len(domains),
            "done": 0,
            "failed": 0,
            "domains": {d: {"state": "pending", "attempt": 0} for d in domains},
        }
        lock = asyncio.Lock()
        slots = asyncio.Semaphore(self.concurrency)

        async def update(domain: str, **changes: Any) -> None:
            async with lock:
                progress["domains"][domain].update(changes)
                states = [d["state"] for d in progress["domains"].values()]
                progress["done"] = states.count("renewed")
                progress["failed"] = states.count("failed")
                await report(progress)

        async def one(domain: str) -> None:
            async with slots:
                for attempt in range(1, self.attempts + 1):
                    await update(domain, state="running", attempt=attempt)
                    try:
                        cert = await asyncio.to_thread(self.locate, domain)
                        renewed = await self.renew(cert, kind)
                    except TRANSIENT as exc:
                        if attempt == self.attempts:
                            await update(domain, state="failed", **_error(exc))
                            return
                        await update(domain, state="retrying", **_error(exc))
                        delay = self.backoff * 2 ** (attempt - 1)
                        await asyncio.sleep(delay / 2 + random.uniform(0, delay / 2))
                    except (GatewayError, OSError, ValueError) as exc:
                        await update(domain, state="failed", **_error(exc))
                        return
                    else:
                        await update(
                            domain,
                            state="renewed",
                            error=None,
                            code=None,
                            notAfter=renewed.not_after,
                            serial=renewed.serial,
                            issuer=renewed.issuer,
                            writtenTo=renewed.written_to,
                            backup=renewed.backup,
                            at=time.time(),
                        )
                        return

        await asyncio.gather(*(one(d) for d in domains))
        return progress


def find_certificate(certs: Sequence[CertificateInfo], domain: str) -> CertificateInfo:
    """The certificate stored for ``domain`` as its main domain, else one covering it."""
    found = next((c for c in certs if c.main == domain), None) or next(
        (c for c in certs if c.covers(domain)), None
    )
    if found is None:
        raise NotFound(f"no certificate for {domain} in acme.json or the dynamic directory")
    return found


def _error(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, GatewayError):
        return {"error": exc.message, "code": exc.code.value}
    return {"error": f"{type(exc).__name__}: {str(exc)[:160]}", "code": "INTERNAL"}


def check_domains(domains: list[str]) -> list[str]:
    """Validated, de-duplicated, in order; at most 100 per request."""
    if not domains:
        raise BadUserInput("at least one domain is required", field="domains")
    if len(domains) > 100:
        raise BadUserInput("at most 100 domains per request", field="domains")
    seen: dict[str, None] = {}
    for domain in domains:
        seen.setdefault(check_hostname(domain, field="domains"), None)
    return list(seen)


__all__ = ["BackendError", "Renewed", "Renewer", "check_domains", "find_certificate"]
