"""Settings: built from the environment once, then passed down explicitly.

Nothing in the project reads ``os.environ`` except :meth:`Settings.from_env`, so tests build
apps with exactly the settings they need and two apps can live in one process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TypeVar

from gateway.errors import ConfigurationError

N = TypeVar("N", int, float)

DEFAULT_STORE = "sqlite:///./ops-gateway.db"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"


def _number(env: Mapping[str, str], name: str, default: N, kind: type[N]) -> N:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        noun = "an integer" if kind is int else "a number"
        raise ConfigurationError(f"{name} must be {noun}, got {raw!r}") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    return _number(env, name, default, int)


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    return _number(env, name, default, float)


def _str(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name, "").strip()
    return raw or None


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = (_str(env, name) or "").lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ConfigurationError(f"{name} must be on or off, got {value!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class Limits:
    """Request limits (DESIGN §6). Defaults fit a dashboard; each is configurable."""

    max_depth: int = 20
    max_aliases: int = 30
    max_tokens: int = 5_000
    max_body_bytes: int = 1_000_000
    rate_per_second: float = 50.0
    rate_burst: int = 200
    ws_max_connections: int = 20
    """Open websockets per subject (per replica)."""
    ws_max_subscriptions: int = 50
    """Operations running at once on one websocket."""
    auth_failures_per_minute: int = 30
    """Failed authentications per client address before it gets 429s."""
    parser_cache_size: int = 512
    validation_cache_size: int = 512
    header_timeout: float = 10.0
    """Seconds a connection has to deliver a request's head (slowloris)."""
    body_timeout: float = 30.0
    """Seconds a request has to deliver its whole body (a body trickled byte by byte)."""
    rate_limit_delay: float = 1.0
    """Seconds a 429 (rate limit, failed sign-ins) is held before it is sent."""
    rate_limit_held: int = 1024
    """Refusals held at once per subject or address; past that they are sent at once."""
    max_in_flight: int = 16
    """Requests of one subject running at once per replica; more wait their turn."""
    ws_max_pending: int = 64
    """Websockets per client address not yet initialised; more are refused (403)."""
    max_cost: int = 20_000
    """The most a document may cost (schema/cost.py): demand control."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Limits:
        """Each limit from ``GATEWAY_<ITS NAME>`` (``GATEWAY_MAX_DEPTH``), parsed as its
        default's type; the two parser caches are not configurable."""
        d = cls()
        values: dict[str, int | float] = {}
        for f in fields(cls):
            if f.name not in _FIXED_LIMITS:
                default = getattr(d, f.name)
                values[f.name] = _number(env, f"GATEWAY_{f.name.upper()}", default, type(default))
        return cls(**values)  # type: ignore[arg-type]


_FIXED_LIMITS = frozenset({"parser_cache_size", "validation_cache_size"})


_BACKEND_STRINGS = (
    "LAGO_API_URL",
    "LAGO_API_KEY",
    "LAGO_WEBHOOK_HMAC_KEY",
    "LAGO_WEBHOOK_ISSUER",
    "HF_ENDPOINT",
    "HF_TOKEN",
    "HF_HUB_CACHE",
    "TRAEFIK_API_URL",
    "TRAEFIK_ACME_JSON",
    "TRAEFIK_DYNAMIC_DIR",
    "BRIGADE_API_URL",
    "BRIGADE_API_KEY",
    "ACME_DIRECTORY_URL",
    "ACME_EMAIL",
    "ACME_CA_BUNDLE",
    "ACME_DNS_HOOK",
)
"""Backend addresses and credentials, read as given: each is the field of its name in lower case."""


DOCUMENT_MODES = ("open", "trusted", "trusted-except-admins")


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What clients and browsers meet before execution: which documents are accepted,
    persisted queries, CSRF prevention and CORS."""

    documents: str = "open"
    """``open``, ``trusted`` or ``trusted-except-admins`` (gateway/documents)."""
    apq_max_entries: int = 10_000
    """Automatic persisted queries kept (shared by replicas through the store)."""
    documents_cache_seconds: float = 5.0
    """How long a replica reuses a document lookup (a revocation takes this long)."""
    csrf_prevention: bool = True
    cors_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebSettings:
        d = cls()
        mode = (_str(env, "GATEWAY_DOCUMENTS") or d.documents).lower()
        if mode not in DOCUMENT_MODES:
            choices = ", ".join(DOCUMENT_MODES)
            raise ConfigurationError(f"GATEWAY_DOCUMENTS must be one of {choices}, got {mode!r}")
        csrf = _str(env, "GATEWAY_CSRF_PREVENTION")
        return cls(
            documents=mode,
            apq_max_entries=_int(env, "GATEWAY_APQ_MAX_ENTRIES", d.apq_max_entries),
            documents_cache_seconds=_float(
                env, "GATEWAY_DOCUMENTS_CACHE_SECONDS", d.documents_cache_seconds
            ),
            csrf_prevention=True if csrf is None else _flag(env, "GATEWAY_CSRF_PREVENTION"),
            cors_origins=_list(env, "GATEWAY_CORS_ORIGINS"),
        )


@dataclass(frozen=True, slots=True)
class OIDCSettings:
    issuer: str | None = None
    audience: str | None = None
    jwks_url: str | None = None
    roles_claim: str = "realm_access.roles"

    @property
    def enabled(self) -> bool:
        return bool(self.jwks_url and self.issuer)


@dataclass(frozen=True, slots=True)
class Settings:
    store_url: str = DEFAULT_STORE
    store_pool_size: int = 10
    idempotency_days: float = 30.0
    """How long log idempotency keys (usage event ids...) are kept before they are pruned."""
    """Connections per process to a PostgreSQL store."""
    redis_url: str | None = None
    redis_prefix: str = "ogw:"
    """Key and channel prefix in Redis, so several gateways can share one server."""
    data_dir: Path = Path(".")
    secret_keys: tuple[str, ...] = ()
    oidc: OIDCSettings = field(default_factory=OIDCSettings)
    limits: Limits = field(default_factory=Limits)
    web: WebSettings = field(default_factory=WebSettings)
    backend_timeout: float = 10.0
    breaker_failures: int = 5
    """Consecutive failures of a backend that open its circuit (calls then fail fast)."""
    breaker_reset_seconds: float = 30.0
    """How long an open circuit waits before letting one trial call through."""
    allowed_origins: tuple[str, ...] = ()
    otel_traces_endpoint: str | None = None
    """Where spans go (OTLP/HTTP); None: tracing off."""
    otel_service_name: str = "ops-gateway"
    log_format: str = "text"
    """``text`` (human, the default) or ``json`` (one JSON line per request and record)."""
    response_cache: bool = False
    """Reuse answers of read queries (``@cacheControl`` in the schema says for how long)."""
    response_cache_entries: int = 10_000
    # Backends (issues 3-7 add their clients; unset means NOT_CONFIGURED).
    lago_api_url: str | None = None
    lago_api_key: str | None = None
    lago_snapshot_seconds: float = 300.0
    """How often the revenue snapshot is rebuilt from Lago (webhooks keep it fresh between)."""
    lago_webhook_hmac_key: str | None = None
    lago_webhook_issuer: str | None = None
    hf_endpoint: str | None = None
    hf_token: str | None = None
    hf_hub_cache: str | None = None
    traefik_api_url: str | None = None
    traefik_acme_json: str | None = None
    traefik_dynamic_dir: str | None = None
    docker_host: str = DEFAULT_DOCKER_HOST
    brigade_api_url: str | None = None
    brigade_api_key: str | None = None
    acme_directory_url: str | None = None
    acme_email: str | None = None
    acme_ca_bundle: str | None = None
    acme_dns_hook: str | None = None
    """A command creating/removing DNS-01 TXT records (gateway/backends/acme/challenges.py)."""
    # LLM providers: hosts/networks exempt from the SSRF guard; block private ranges too.
    provider_allow_hosts: tuple[str, ...] = ()
    provider_block_private: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        store_url = _str(env, "GATEWAY_STORE") or DEFAULT_STORE
        data_dir = Path(_str(env, "GATEWAY_DATA_DIR") or _default_data_dir(store_url))
        return cls(
            store_url=store_url,
            store_pool_size=_int(env, "GATEWAY_STORE_POOL", 10),
            idempotency_days=_float(env, "GATEWAY_IDEMPOTENCY_DAYS", 30.0),
            redis_url=_str(env, "REDIS_URL"),
            redis_prefix=_str(env, "GATEWAY_REDIS_PREFIX") or "ogw:",
            data_dir=data_dir,
            secret_keys=_list(env, "GATEWAY_SECRET_KEYS"),
            oidc=OIDCSettings(
                issuer=_str(env, "OIDC_ISSUER"),
                audience=_str(env, "OIDC_AUDIENCE"),
                jwks_url=_str(env, "OIDC_JWKS_URL"),
                roles_claim=_str(env, "OIDC_ROLES_CLAIM") or "realm_access.roles",
            ),
            limits=Limits.from_env(env),
            web=WebSettings.from_env(env),
            backend_timeout=_float(env, "GATEWAY_BACKEND_TIMEOUT", 10.0),
            breaker_failures=max(1, _int(env, "GATEWAY_BREAKER_FAILURES", 5)),
            breaker_reset_seconds=max(0.0, _float(env, "GATEWAY_BREAKER_RESET_SECONDS", 30.0)),
            allowed_origins=_list(env, "GATEWAY_ALLOWED_ORIGINS"),
            otel_traces_endpoint=_otel_endpoint(env),
            otel_service_name=_str(env, "OTEL_SERVICE_NAME") or "ops-gateway",
            log_format=_log_format(env),
            response_cache=_flag(env, "GATEWAY_RESPONSE_CACHE"),
            response_cache_entries=_int(env, "GATEWAY_RESPONSE_CACHE_ENTRIES", 10_000),
            lago_snapshot_seconds=_float(env, "LAGO_SNAPSHOT_SECONDS", 300.0),
            **{name.lower(): _str(env, name) for name in _BACKEND_STRINGS},
            docker_host=_str(env, "DOCKER_HOST") or DEFAULT_DOCKER_HOST,
            provider_allow_hosts=_list(env, "GATEWAY_PROVIDER_ALLOW_HOSTS"),
            provider_block_private=_flag(env, "GATEWAY_PROVIDER_BLOCK_PRIVATE"),
        )

    def replace(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _otel_endpoint(env: Mapping[str, str]) -> str | None:
    """OpenTelemetry's own variables: the traces endpoint, else the base one + /v1/traces."""
    if (_str(env, "OTEL_SDK_DISABLED") or "").lower() == "true":
        return None
    if traces := _str(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return traces
    base = _str(env, "OTEL_EXPORTER_OTLP_ENDPOINT")
    return base.rstrip("/") + "/v1/traces" if base else None


def _log_format(env: Mapping[str, str]) -> str:
    value = (_str(env, "GATEWAY_LOG_FORMAT") or "text").lower()
    if value not in ("text", "json"):
        raise ConfigurationError(f"GATEWAY_LOG_FORMAT must be text or json, got {value!r}")
    return value


def _default_data_dir(store_url: str) -> str:
    """Keep generated files (secret keys) next to the SQLite database by default."""
    if store_url.startswith("sqlite:///"):
        parent = Path(store_url.removeprefix("sqlite:///")).parent
        return str(parent) if str(parent) else "."
    return "."
