"""Base URLs cannot aim the gateway at link-local or metadata addresses (and, when configured,
private ones), neither when saved nor when connecting."""

from __future__ import annotations

import pytest

from gateway.backends.providers import AddressPolicy, BlockedAddress
from gateway.providers.urls import BaseURLError, check_base_url, normalise_base_url
from gateway.settings import Settings
from tests.plugins.app import GatewayFactory
from tests.providers.conftest import ServedSandbox
from tests.providers.helpers import create, probe


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  HTTPS://API.Example.com/v1/ ", "https://api.example.com/v1"),
        ("http://localhost:11434", "http://localhost:11434"),
        ("http://[::1]:8000/v1", "http://[::1]:8000/v1"),
    ],
)
def test_normalise_base_url(raw: str, normalised: str) -> None:
    assert normalise_base_url(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "api.example.com/v1",  # no scheme
        "file:///etc/passwd",
        "gopher://example.com",
        "http://",
        "http://user:secret@example.com",
        "http://example.com/v1?api_key=x",
        "http://example.com/v1#frag",
        "http://example.com:99999",
        "http://exa mple.com",
        "http://example.com/\nv1",
    ],
)
def test_malformed_base_urls(raw: str) -> None:
    with pytest.raises(BaseURLError) as info:
        normalise_base_url(raw)
    assert info.value.blocked is False


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # AWS, GCP, Azure metadata
        "http://169.254.170.2/v2/credentials",  # ECS task credentials
        "http://[fd00:ec2::254]/latest",  # AWS IMDS over IPv6
        "http://[fe80::1]/",
        "http://[::ffff:169.254.169.254]/",  # IPv4-mapped
        "http://metadata.google.internal/computeMetadata/v1",
        "http://METADATA.GOOGLE.INTERNAL./",
        "http://100.100.100.200/latest",  # Alibaba Cloud
        "http://0.0.0.0:8000/v1",
        "http://2852039166/",  # 169.254.169.254 as one decimal number
        "http://0xa9fea9fe/",  # ... and in hex
    ],
)
async def test_metadata_and_link_local_are_refused(url: str) -> None:
    with pytest.raises(BaseURLError) as info:
        await check_base_url(normalise_base_url(url), AddressPolicy.build())
    assert info.value.blocked is True
    assert "GATEWAY_PROVIDER_ALLOW_HOSTS" in info.value.message


async def test_policy_allow_list_and_private_switch() -> None:
    default = AddressPolicy.build()
    assert await default.check("127.0.0.1", 80)  # local vLLM/Ollama are the common case
    assert await default.check("10.1.2.3", 80)
    strict = AddressPolicy.build(block_private=True)
    for host in ("127.0.0.1", "10.1.2.3", "192.168.1.5", "::1", "fd12::1", "100.64.0.1"):
        with pytest.raises(BlockedAddress):
            await strict.check(host, 80)
    assert await strict.check("8.8.8.8", 443)
    allowed = AddressPolicy.build(
        allow=["169.254.169.254", "10.0.0.0/8", "Metadata.Google.Internal"], block_private=True
    )
    assert await allowed.check("169.254.169.254", 80)
    assert await allowed.check("10.9.9.9", 80)
    assert allowed.host_refusal("metadata.google.internal") is None
    with pytest.raises(BlockedAddress):
        await allowed.check("169.254.169.253", 80)


def test_settings_from_env() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_PROVIDER_ALLOW_HOSTS": "10.0.0.0/8, vllm.internal ,",
            "GATEWAY_PROVIDER_BLOCK_PRIVATE": "true",
        }
    )
    assert settings.provider_allow_hosts == ("10.0.0.0/8", "vllm.internal")
    assert settings.provider_block_private is True
    assert Settings.from_env({}).provider_block_private is False


async def test_graphql_refuses_and_configuration_allows(gateway_factory: GatewayFactory) -> None:
    gateway = await gateway_factory()
    refused = await create(gateway, kind="vllm", base_url="http://169.254.169.254/v1")
    assert (refused["code"], refused["field"]) == ("BLOCKED_URL", "baseUrl")
    allowing = await gateway_factory(provider_allow_hosts=("169.254.169.254",))
    allowed = await create(allowing, kind="vllm", name="b", base_url="http://169.254.169.254/v1")
    assert allowed["__typename"] == "Provider"


async def test_block_private_is_enforced_when_saving_and_when_connecting(
    gateway_factory: GatewayFactory, providers_sandbox: ServedSandbox
) -> None:
    sb = providers_sandbox
    url = sb.url("vllm").replace("127.0.0.1", "localhost")  # a name, resolved by the guard
    lax = await gateway_factory()
    saved = await create(lax, kind="vllm", base_url=url, api_key=sb.key("vllm"))
    assert (await probe(lax, saved["id"]))["ok"] is True

    keys = lax.settings.secret_keys  # replicas share keys and store
    strict = await gateway_factory(provider_block_private=True, secret_keys=keys)
    refused = await create(strict, kind="vllm", name="again", base_url=url)
    assert refused["code"] == "BLOCKED_URL"
    # A record saved under a laxer policy (or whose name now resolves elsewhere: DNS
    # rebinding) is checked again on connect: nothing reaches the address.
    sb.sandbox.reset_counts()
    result = await probe(strict, saved["id"])
    assert result["error"]["code"] == "BLOCKED_ADDRESS", result
    assert "private or loopback" in result["error"]["message"]
    assert sb.sandbox.total == 0

    exempt = await gateway_factory(
        provider_block_private=True,
        provider_allow_hosts=("127.0.0.0/8", "::1"),
        secret_keys=keys,
    )
    assert (await probe(exempt, saved["id"]))["ok"] is True
