"""Where provider calls may go: an SSRF guard for user-supplied base URLs.

A provider's base URL is typed in by a user, and the gateway then calls it with its own
network position. :class:`AddressPolicy` refuses link-local and cloud-metadata addresses
(169.254.0.0/16 holds AWS/GCP/Azure metadata, ``fd00:ec2::254`` is AWS's IPv6 one) and, when
``GATEWAY_PROVIDER_BLOCK_PRIVATE`` is set, private and loopback ones too; hosts listed in
``GATEWAY_PROVIDER_ALLOW_HOSTS`` (names, addresses or networks) are let through.

The policy is enforced twice: when a base URL is saved (a clear error for the user), and on
every connection (:class:`GuardedTransport`), against the addresses actually connected to, so
a DNS name that changes its answer later (DNS rebinding) gets nowhere either.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_net = ipaddress.ip_network
BLOCKED_NETWORKS: tuple[IPNetwork, ...] = (
    _net("169.254.0.0/16"),  # IPv4 link-local: AWS, GCP, Azure, OpenStack metadata
    _net("fe80::/10"),  # IPv6 link-local
    _net("fd00:ec2::254/128"),  # AWS IMDS over IPv6
    _net("100.100.100.200/32"),  # Alibaba Cloud metadata
    _net("0.0.0.0/8"),  # "this network": 0.0.0.0 reaches local services on Linux
    _net("::/128"),
    _net("224.0.0.0/4"),  # multicast
    _net("ff00::/8"),
    _net("255.255.255.255/32"),
)
PRIVATE_NETWORKS: tuple[IPNetwork, ...] = (
    _net("127.0.0.0/8"),
    _net("::1/128"),
    _net("10.0.0.0/8"),
    _net("172.16.0.0/12"),
    _net("192.168.0.0/16"),
    _net("100.64.0.0/10"),  # carrier-grade NAT, also cloud-internal
    _net("fc00::/7"),  # unique local
)
BLOCKED_HOSTNAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.internal",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
RESOLVE_TIMEOUT = 3.0


class BlockedAddress(httpcore.ConnectError):
    """Raised instead of connecting; a ConnectError so httpx maps it like a refused connect
    (the original stays reachable through ``__cause__``)."""


def normalise_host(host: str) -> str:
    return host.strip().rstrip(".").lower().removeprefix("[").removesuffix("]")


def _address(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    return address


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()
    block_private: bool = False
    _blocked: tuple[IPNetwork, ...] = field(default=BLOCKED_NETWORKS, repr=False)

    @classmethod
    def build(cls, *, allow: Iterable[str] = (), block_private: bool = False) -> AddressPolicy:
        """``allow``: host names, addresses or networks (``10.0.0.0/8``), as in
        ``GATEWAY_PROVIDER_ALLOW_HOSTS``."""
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in (normalise_host(a) for a in allow):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(
            allow_hosts=frozenset(hosts),
            allow_networks=tuple(networks),
            block_private=block_private,
        )

    def host_refusal(self, host: str) -> str | None:
        """Why ``host`` (a name or a literal address) is refused on its face, or None."""
        name = normalise_host(host)
        if name in self.allow_hosts:
            return None
        if name in BLOCKED_HOSTNAMES:
            return f"{name} is a cloud metadata host"
        address = _address(name)
        return self.address_refusal(address) if address is not None else None

    def address_refusal(self, address: IPAddress) -> str | None:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in n for n in self.allow_networks) or str(address) in self.allow_hosts:
            return None
        if any(address in n for n in self._blocked):
            return f"{address} is a link-local, metadata or reserved address"
        if self.block_private and any(address in n for n in PRIVATE_NETWORKS):
            return f"{address} is a private or loopback address (GATEWAY_PROVIDER_BLOCK_PRIVATE)"
        return None

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address ``host`` resolves to (the host itself when it is a literal)."""
        literal = _address(normalise_host(host))
        if literal is not None:
            return [literal]
        loop = asyncio.get_running_loop()
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), RESOLVE_TIMEOUT
        )
        seen: dict[str, IPAddress] = {}
        for info in infos:
            address = _address(str(info[4][0]))
            if address is not None:
                seen.setdefault(str(address), address)
        return list(seen.values())

    async def check(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to; :class:`BlockedAddress` if the host or any of its
        addresses is refused (a name answering both a public and a metadata address is
        suspicious, not half-good)."""
        reason = self.host_refusal(host)
        if reason:
            raise BlockedAddress(f"refused to connect: {reason}")
        addresses = await self.resolve(host, port)
        if normalise_host(host) in self.allow_hosts:
            return addresses
        for address in addresses:
            reason = self.address_refusal(address)
            if reason:
                raise BlockedAddress(f"refused to connect: {reason}")
        return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the host itself, checks every address, then connects to a checked address
    (TLS still verifies and sends SNI for the original host name: httpcore passes it on)."""

    def __init__(self, policy: AddressPolicy, inner: httpcore.AsyncNetworkBackend) -> None:
        self._policy = policy
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[object] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._policy.check(host, port)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,  # type: ignore[arg-type]
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        if last is not None:
            raise last
        raise httpcore.ConnectError(f"{host} resolved to no address")

    async def connect_unix_socket(
        self, *args: object, **kwargs: object
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("unix sockets are not provider endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with the connection pool's network backend wrapped by the
    policy. httpx offers no parameter for the backend, hence the pool is rebuilt here."""

    def __init__(self, *, policy: AddressPolicy, limits: httpx.Limits, verify: bool = True) -> None:
        super().__init__(verify=verify, limits=limits)
        ssl_context = httpx.create_ssl_context(verify=verify)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy, httpcore.AnyIOBackend()),
        )


def blocked_cause(exc: BaseException) -> BlockedAddress | None:
    """The :class:`BlockedAddress` behind ``exc`` (httpx and our client chain them)."""
    seen: Sequence[BaseException] = ()
    current: BaseException | None = exc
    while current is not None and current not in seen:
        if isinstance(current, BlockedAddress):
            return current
        seen = (*seen, current)
        current = current.__cause__ or current.__context__
    return None
