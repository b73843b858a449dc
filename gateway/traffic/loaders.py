"""Request-scoped loader for the certificate list (acme.json + dynamic dir read once)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiodataloader import DataLoader

from gateway.traffic.certificates import CertificateInfo

if TYPE_CHECKING:
    from gateway.traffic.service import TrafficService


class CertificatesLoader(DataLoader[str, list[CertificateInfo]]):
    """Key: always ``""``; overview counts and the certificates field share one read."""

    def __init__(self, traffic: TrafficService) -> None:
        super().__init__()
        self.traffic = traffic

    async def batch_load_fn(self, keys: list[str]) -> list[list[CertificateInfo]]:
        certs, _problems = await self.traffic.certificates()
        return [list(certs) for _ in keys]
