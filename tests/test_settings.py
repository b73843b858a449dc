"""Settings from the environment: defaults, parsing, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import ConfigurationError
from gateway.settings import Settings


def test_empty_environment_gives_the_embedded_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.store_url == "sqlite:///./ops-gateway.db"
    assert settings.data_dir == Path(".")
    assert settings.redis_url is None
    assert settings.docker_host == "unix:///var/run/docker.sock"
    assert settings.oidc.enabled is False
    assert settings.oidc.roles_claim == "realm_access.roles"
    assert settings.backend_timeout == 10.0
    assert settings.limits.max_depth == 20


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "GATEWAY_STORE": "sqlite:////var/lib/gw/db.sqlite",
            "REDIS_URL": "redis://127.0.0.1:6379/2",
            "GATEWAY_SECRET_KEYS": " k1 , k2 ,",
            "OIDC_ISSUER": "https://kc/realms/ops",
            "OIDC_JWKS_URL": "https://kc/certs",
            "GATEWAY_MAX_DEPTH": "7",
            "GATEWAY_RATE_PER_SECOND": "2.5",
            "GATEWAY_BACKEND_TIMEOUT": "3",
            "LAGO_API_URL": "http://lago:3000",
        }
    )
    assert settings.data_dir == Path("/var/lib/gw")
    assert settings.secret_keys == ("k1", "k2")
    assert settings.oidc.enabled is True
    assert settings.limits.max_depth == 7
    assert settings.limits.rate_per_second == 2.5
    assert settings.backend_timeout == 3.0
    assert settings.lago_api_url == "http://lago:3000"


@pytest.mark.parametrize("name", ["GATEWAY_MAX_DEPTH", "GATEWAY_BACKEND_TIMEOUT"])
def test_bad_numbers_name_the_variable(name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: "lots"})
