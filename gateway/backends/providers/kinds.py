"""The LLM provider kinds the gateway knows: where each lives, how it authenticates and where
it lists its models.

Facts from each provider's own API reference:

- OpenAI ``GET /v1/models``, ``Authorization: Bearer``; ``{"object":"list","data":[{id,...}]}``.
- Anthropic ``GET /v1/models``, ``x-api-key`` plus ``anthropic-version``; pages by ``limit``
  (at most 1000) and ``after_id``; ``{"data":[...],"has_more","first_id","last_id"}``.
- Google AI (Gemini) ``GET /v1beta/models``, the key as ``?key=`` or ``x-goog-api-key``; pages by
  ``pageSize``/``pageToken``; a bad key is a 400 with reason ``API_KEY_INVALID``.
- Cohere ``GET /v1/models``, Bearer; pages by ``page_size``/``page_token``.
- Together ``GET /v1/models``, Bearer; a bare JSON array.
- Replicate ``GET /v1/models``, ``Bearer`` (``Token`` in older docs); pages by a ``next`` URL.
- vLLM's OpenAI-compatible server ``GET /v1/models``, Bearer only when started with --api-key.
- Ollama ``GET /api/tags``, no authentication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class AuthStyle(StrEnum):
    BEARER = "bearer"
    """``Authorization: Bearer <key>``."""
    X_API_KEY = "x_api_key"
    """``x-api-key: <key>`` plus ``anthropic-version`` (Anthropic)."""
    GOOGLE_API_KEY = "google_api_key"
    """``x-goog-api-key: <key>``: Google's header form of ``?key=``."""
    NONE = "none"


class ListingStyle(StrEnum):
    """The shape of a kind's model-list answer (see :mod:`.parsing`)."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    GOOGLE = "google"
    COHERE = "cohere"
    TOGETHER = "together"
    REPLICATE = "replicate"
    OLLAMA = "ollama"


ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True, slots=True)
class ProviderKind:
    id: str
    label: str
    default_base_url: str | None
    """None: the base URL must be given (custom endpoints)."""
    models_path: str
    """Appended to the base URL."""
    auth: AuthStyle
    listing: ListingStyle
    key_required: bool
    docs_url: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def base_url_required(self) -> bool:
        return self.default_base_url is None

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        """The headers that carry ``api_key`` to this kind of provider (none without a key,
        except the non-secret ones such as ``anthropic-version``)."""
        headers = dict(self.extra_headers)
        if not api_key:
            return headers
        if self.auth is AuthStyle.X_API_KEY:
            headers["x-api-key"] = api_key
        elif self.auth is AuthStyle.GOOGLE_API_KEY:
            # The header, not ``?key=``: query strings end up in httpx's request log and in
            # proxies' access logs, headers do not. Google accepts both.
            headers["x-goog-api-key"] = api_key
        else:  # BEARER, and NONE-kinds given a key (an auth proxy in front of Ollama)
            headers["Authorization"] = f"Bearer {api_key}"
        return headers

    @property
    def auth_description(self) -> str:
        return {
            AuthStyle.BEARER: "Authorization: Bearer <key>",
            AuthStyle.X_API_KEY: f"x-api-key: <key>, anthropic-version: {ANTHROPIC_VERSION}",
            AuthStyle.GOOGLE_API_KEY: "x-goog-api-key: <key> (same as ?key=<key>)",
            AuthStyle.NONE: "none (a key, if set, is sent as Authorization: Bearer <key>)",
        }[self.auth]


# One row per kind: id, label, default base URL (None: must be given), models path (appended
# to the base URL), authentication, listing shape, whether a key is required, reference.
_B, _X, _G, _N = AuthStyle.BEARER, AuthStyle.X_API_KEY, AuthStyle.GOOGLE_API_KEY, AuthStyle.NONE
_L = ListingStyle
_ROWS: tuple[tuple[str, str, str | None, str, AuthStyle, ListingStyle, bool, str], ...] = (
    ("openai", "OpenAI", "https://api.openai.com/v1", "/models", _B, _L.OPENAI, True,
     "https://platform.openai.com/docs/api-reference/models/list"),
    ("anthropic", "Anthropic", "https://api.anthropic.com", "/v1/models", _X, _L.ANTHROPIC, True,
     "https://docs.anthropic.com/en/api/models-list"),
    ("google", "Google AI (Gemini)", "https://generativelanguage.googleapis.com",
     "/v1beta/models", _G, _L.GOOGLE, True, "https://ai.google.dev/api/models#method:-models.list"),
    ("cohere", "Cohere", "https://api.cohere.com", "/v1/models", _B, _L.COHERE, True,
     "https://docs.cohere.com/reference/list-models"),
    ("together", "Together AI", "https://api.together.xyz/v1", "/models", _B, _L.TOGETHER, True,
     "https://docs.together.ai/reference/models-1"),
    ("replicate", "Replicate", "https://api.replicate.com", "/v1/models", _B, _L.REPLICATE, True,
     "https://replicate.com/docs/reference/http#models.list"),
    # vLLM wants a key only when the server was started with --api-key.
    ("vllm", "vLLM", "http://localhost:8000/v1", "/models", _B, _L.OPENAI, False,
     "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html"),
    ("ollama", "Ollama", "http://localhost:11434", "/api/tags", _N, _L.OLLAMA, False,
     "https://github.com/ollama/ollama/blob/main/docs/api.md#list-local-models"),
    ("custom", "Custom (OpenAI-compatible)", None, "/models", _B, _L.OPENAI, False,
     "https://platform.openai.com/docs/api-reference/models/list"),
)  # fmt: skip
_EXTRA_HEADERS = {"anthropic": {"anthropic-version": ANTHROPIC_VERSION}}

KINDS: dict[str, ProviderKind] = {
    row[0]: ProviderKind(*row, extra_headers=dict(_EXTRA_HEADERS.get(row[0], {}))) for row in _ROWS
}
