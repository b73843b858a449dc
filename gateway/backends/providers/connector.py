"""The app-lifetime entry point to LLM providers (``services.backends.providers``).

Providers are records users create, each with its own base URL and key, so there is no
single pooled client as for the other backends: the connector holds what every call shares
(the SSRF policy, the default timeout, the metrics observer) and makes one short-lived
:class:`ProviderClient` per call. Connection tests are rare; their latency should include the
connect anyway.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.backends.base import CallObserver
from gateway.backends.providers.client import ProviderClient
from gateway.backends.providers.guard import AddressPolicy
from gateway.backends.providers.kinds import ProviderKind
from gateway.backends.providers.probe import ProbeErrorCode, ProbeResult, failed, probe
from gateway.settings import Settings

MAX_TEST_TIMEOUT = 30.0
DEFAULT_TEST_TIMEOUT = 10.0


@dataclass
class ProviderConnector:
    policy: AddressPolicy
    timeout: float = DEFAULT_TEST_TIMEOUT
    observer: CallObserver | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, observer: CallObserver | None = None
    ) -> ProviderConnector:
        policy = AddressPolicy.build(
            allow=settings.provider_allow_hosts, block_private=settings.provider_block_private
        )
        timeout = min(settings.backend_timeout, DEFAULT_TEST_TIMEOUT)
        return cls(policy=policy, timeout=timeout, observer=observer)

    async def test(
        self,
        *,
        kind: ProviderKind,
        base_url: str,
        api_key: str | None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> ProbeResult:
        seconds = self.timeout if timeout is None else min(max(timeout, 0.1), MAX_TEST_TIMEOUT)
        if kind.key_required and not api_key:
            return failed(ProbeErrorCode.KEY_MISSING, f"{kind.label} needs an API key; none is set")
        client = ProviderClient(
            kind=kind,
            base_url=base_url,
            api_key=api_key,
            timeout=seconds,
            policy=self.policy,
            observer=self.observer,
        )
        return await probe(client, api_key=api_key, timeout=seconds)

    async def aclose(self) -> None:
        """Nothing pooled to close; here for the registry's uniform shutdown."""
