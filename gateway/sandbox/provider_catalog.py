"""What the fake LLM providers hold and say: keys, model catalogs and each API's error bodies
(used by :mod:`gateway.sandbox.providers`)."""

from __future__ import annotations

import base64
from typing import Any

from starlette.responses import JSONResponse, Response

DEFAULT_KEYS: dict[str, str | None] = {
    "openai": "sk-proj-sandbox-openai-7Hq2VbX9Lm4T",
    "anthropic": "sk-ant-api03-sandbox-3Fv8KqP2Zr6W",
    "google": "AIzaSyA-sandbox-google-5Nw1Yc7Pd",
    "cohere": "co-sandbox-cohere-9Jt4Gh2Mx8Qe",
    "together": "tgp_v1_sandbox-together-2Ls6Rb9V",
    "replicate": "r8_sandboxReplicate4Tz7Kf2Qw9",
    "vllm": "vllm-sandbox-token-6Pc1Wd8Hy5",
    "ollama": None,
    "custom": "sk-sandbox-custom-8Mz3Nf6Jq1",
}
T0 = 1_717_200_000  # 2024-06-01, for "created" fields
CATALOG: dict[str, list[str]] = {
    "openai": ["gpt-4o", "gpt-4o-mini", "o3-mini", "text-embedding-3-small"],
    "anthropic": [
        "claude-3-7-sonnet-20250219",
        "claude-3-5-sonnet-20241022",
        "claude-3-5-haiku-20241022",
        "claude-3-opus-20240229",
        "claude-3-haiku-20240307",
    ],
    "google": ["gemini-2.0-flash", "gemini-1.5-pro", "gemini-1.5-flash", "text-embedding-004"],
    "cohere": ["command-r-plus", "command-r", "command-r7b-12-2024", "embed-english-v3.0"],
    "together": [
        "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "Qwen/Qwen2.5-72B-Instruct-Turbo",
    ],
    "replicate": [
        "meta/meta-llama-3-70b-instruct",
        "mistralai/mixtral-8x7b-instruct-v0.1",
        "black-forest-labs/flux-schnell",
        "stability-ai/sdxl",
        "openai/whisper",
    ],
    "vllm": ["Qwen/Qwen2.5-7B-Instruct"],
    "ollama": ["llama3.2:latest", "qwen2.5:7b", "nomic-embed-text:latest"],
    "custom": ["gpt-4o-mini", "local-llama"],
}


def json_response(body: Any, status: int = 200, media_type: str = "application/json") -> Response:
    return JSONResponse(body, status_code=status, media_type=media_type)


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o{offset}".encode()).decode().rstrip("=")


def offset_of(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()[1:])
    except ValueError:
        return -1


def openai_error(sent: str | None, *, together: bool = False) -> Response:
    if not sent:
        message = "You didn't provide an API key. You need to provide your API key in an "
        message += "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
        code = None
    else:
        # OpenAI quotes a masked form of the key it refused.
        shown = f"{sent[:3]}{'*' * 8}{sent[-4:]}" if len(sent) > 8 else "***"
        message = f"Incorrect API key provided: {shown}."
        if together:
            message = "Invalid API key provided. You can find your API key at "
            message += "https://api.together.xyz/settings/api-keys."
        code = "invalid_api_key"
    error = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return json_response({"error": error}, 401)


def anthropic_error(status: int, kind: str, message: str) -> Response:
    return json_response({"type": "error", "error": {"type": kind, "message": message}}, status)


def google_error(status: int, state: str, message: str, reason: str | None = None) -> Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if reason:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ]
    return json_response({"error": error}, status)
