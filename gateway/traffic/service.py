"""TrafficService: the traffic domain's entry point for resolvers and background jobs.

Holds the three backends (Traefik, Docker, ACME), the file-provider directory, acme.json and
the certificate renewer, and registers the ``certificate_renewal`` job kind.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

from gateway.backends.acme.challenges import CommandDnsHook, DnsHook, Http01Tokens
from gateway.backends.acme.client import AcmeClient, ChallengeKind
from gateway.backends.docker.client import DockerClient
from gateway.backends.traefik.client import TraefikClient
from gateway.errors import NotConfigured
from gateway.jobs.context import JobContext, JobFailed
from gateway.jobs.records import JobRecord
from gateway.jobs.runner import JobRunner
from gateway.secrets import SecretBox
from gateway.settings import Settings
from gateway.store.base import JSON, Store
from gateway.traffic.accounts import AcmeAccounts
from gateway.traffic.acme_json import AcmeJson
from gateway.traffic.certificates import CertificateInfo
from gateway.traffic.dynamic_dir import DynamicDir
from gateway.traffic.models import Container, Service, TraefikQuery
from gateway.traffic.renewal import Renewer, check_domains, find_certificate
from gateway.traffic.routes import AppliedRoute, Reloaded, apply_discovered_route, reload_service

if TYPE_CHECKING:
    from gateway.backends.registry import Backends

RENEWAL_JOB = "certificate_renewal"


class TrafficService:
    def __init__(
        self,
        *,
        traefik: TraefikClient,
        docker: DockerClient,
        acme: AcmeClient,
        store: Store,
        secrets: SecretBox,
        jobs: JobRunner,
        dynamic_dir: DynamicDir | None,
        acme_json: AcmeJson | None,
        dns: DnsHook | None = None,
        concurrency: int = 4,
    ) -> None:
        self.traefik = traefik
        self.docker = docker
        self.acme = acme
        self.dynamic_dir = dynamic_dir
        self.acme_json = acme_json
        self.http01 = Http01Tokens(store=store)
        self.renewer = Renewer(
            acme=acme,
            accounts=AcmeAccounts(store=store, secrets=secrets),
            http01=self.http01,
            acme_json=acme_json,
            dynamic_dir=dynamic_dir,
            dns=dns,
            concurrency=concurrency,
        )
        self.jobs = jobs
        jobs.register(RENEWAL_JOB, self._renewal_job, concurrency=2)

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        backends: Backends,
        store: Store,
        secrets: SecretBox,
        jobs: JobRunner,
    ) -> TrafficService:
        directory = settings.traefik_dynamic_dir
        return cls(
            traefik=backends.traefik,
            docker=backends.docker,
            acme=backends.acme,
            store=store,
            secrets=secrets,
            jobs=jobs,
            dynamic_dir=DynamicDir(root=directory) if directory else None,
            acme_json=AcmeJson(path=settings.traefik_acme_json)
            if settings.traefik_acme_json
            else None,
            dns=CommandDnsHook(command=settings.acme_dns_hook) if settings.acme_dns_hook else None,
        )

    # -- jobs ------------------------------------------------------------------------------
    async def start_renewal(
        self, domains: list[str], *, challenge: ChallengeKind, actor: str | None
    ) -> JobRecord:
        domains = check_domains(domains)
        self.renewer.check_ready(challenge)
        # Unknown domains are refused now, not discovered later inside the job.
        certs, _ = await asyncio.to_thread(self.renewer.certificates)
        for domain in domains:
            find_certificate(certs, domain)
        params = {"domains": domains, "challenge": challenge}
        key = f"{challenge}:{','.join(sorted(domains))}"
        return await self.jobs.submit(RENEWAL_JOB, params, actor=actor, key=key)

    async def renewal(self, job_id: str) -> JobRecord | None:
        """The renewal job, or None (also for another kind's job)."""
        record = await self.jobs.get(job_id)
        return record if record is not None and record.kind == RENEWAL_JOB else None

    async def renewals(self) -> list[JobRecord]:
        """Newest first."""
        return await self.jobs.list(RENEWAL_JOB)

    def watch(self, job_id: str) -> AbstractAsyncContextManager[AsyncIterator[JobRecord]]:
        """The job now, then every change until it finishes (from any replica)."""
        return self.jobs.watch(job_id)

    async def _renewal_job(self, ctx: JobContext) -> JSON | None:
        domains = list(ctx.params.get("domains") or [])
        kind: ChallengeKind = ctx.params.get("challenge") or "http-01"
        progress = await self.renewer.run(domains, kind, ctx.report)
        if progress["failed"]:
            failures = {d: s for d, s in progress["domains"].items() if s.get("state") == "failed"}
            first = next(iter(failures.values()))
            summary = "; ".join(f"{d}: {s.get('error')}" for d, s in failures.items())
            raise JobFailed(
                f"{len(failures)} of {len(domains)} renewals failed: {summary}"[:500],
                code=str(first.get("code") or "FAILED"),
            )
        return {"renewed": progress["done"], "domains": progress["domains"]}

    # -- Traefik's lists, paged and filtered by Traefik itself (schema/traffic/lists.py) -------
    async def window(
        self, query: TraefikQuery, *, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """Items ``offset .. offset + limit`` of a list and whether more follow."""
        return await self.traefik.window(query, offset=offset, limit=limit)

    async def list(self, query: TraefikQuery) -> builtins.list[dict[str, Any]]:
        return await self.traefik.list(query)

    async def count(self, query: TraefikQuery) -> int:
        return await self.traefik.count(query)

    async def totals(self) -> dict[str, int]:
        """Routers, services and middlewares in all, from Traefik's overview."""
        return await self.traefik.totals()

    async def census(self) -> builtins.list[Service]:
        """Every service with its health, at most a few seconds old (shared by requests)."""
        return await self.traefik.census()

    async def containers(self) -> builtins.list[Container]:
        """Containers labelled for Traefik, running or not."""
        return await self.docker.containers()

    # -- queries and mutations ---------------------------------------------------------------
    async def certificates(self) -> tuple[builtins.list[CertificateInfo], builtins.list[str]]:
        if self.acme_json is None and self.dynamic_dir is None:
            raise NotConfigured("traefik", "TRAEFIK_ACME_JSON or TRAEFIK_DYNAMIC_DIR")
        return await asyncio.to_thread(self.renewer.certificates)

    async def apply_route(self, container_ref: str, host: str) -> AppliedRoute:
        return await apply_discovered_route(
            docker=self.docker, directory=self.dynamic_dir, container_ref=container_ref, host=host
        )

    async def reload(self, name: str) -> Reloaded:
        return await reload_service(traefik=self.traefik, directory=self.dynamic_dir, name=name)

    def describe(self) -> dict[str, Any]:
        return {
            "traefik": self.traefik.configured,
            "docker": self.docker.url,
            "acme": self.acme.configured,
            "dynamicDir": str(self.dynamic_dir.root) if self.dynamic_dir else None,
        }
