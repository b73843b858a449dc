"""Model-list answers of each provider kind, parsed into :class:`DiscoveredModel` and paging.

Parsers are strict about the shape that identifies a kind (a list where the API has a list)
and lenient about optional fields: a missing ``display_name`` is not a broken provider, but an
HTML login page answering 200 is (:class:`MalformedListing`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gateway.backends.providers.kinds import ListingStyle

PAGE_SIZE = 1000  # the largest page Anthropic, Google and Cohere serve


class MalformedListing(ValueError):
    """The answer is not this kind's model list."""


@dataclass(frozen=True, slots=True)
class DiscoveredModel:
    id: str
    display_name: str | None = None
    owner: str | None = None
    context_length: int | None = None
    created_at: float | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Page:
    models: list[DiscoveredModel]
    next_params: dict[str, str] | None
    """Query parameters for the next page, None on the last one."""


def first_params(style: ListingStyle) -> dict[str, str]:
    return {
        ListingStyle.ANTHROPIC: {"limit": str(PAGE_SIZE)},
        ListingStyle.GOOGLE: {"pageSize": str(PAGE_SIZE)},
        ListingStyle.COHERE: {"page_size": str(PAGE_SIZE)},
    }.get(style, {})


def parse_page(style: ListingStyle, body: Any) -> Page:
    return _PARSERS[style](body)


def _items(body: Any, key: str | None) -> list[dict[str, Any]]:
    items = body if key is None else (body.get(key) if isinstance(body, dict) else None)
    if not isinstance(items, list):
        where = "a JSON array" if key is None else f'an object with a "{key}" list'
        raise MalformedListing(f"expected {where}")
    return [i for i in items if isinstance(i, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _unix(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        # Providers' APIs speak UTC; a time without an offset must not take the host's zone.
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return None


def _model(item: dict[str, Any], id_key: str = "id", **fields: Any) -> DiscoveredModel | None:
    model_id = _str(item.get(id_key))
    return DiscoveredModel(id=model_id, **fields) if model_id else None


def _collect(models: list[DiscoveredModel | None]) -> list[DiscoveredModel]:
    return [m for m in models if m is not None]


def _openai(body: Any) -> Page:
    # OpenAI, vLLM and OpenAI-compatible servers; vLLM adds max_model_len.
    models = [
        _model(
            i,
            owner=_str(i.get("owned_by")),
            created_at=_unix(i.get("created")),
            context_length=_int(i.get("max_model_len")) or _int(i.get("context_length")),
        )
        for i in _items(body, "data")
    ]
    return Page(_collect(models), None)


def _together(body: Any) -> Page:
    # A bare array; accept the OpenAI envelope too (Together's newer API versions use it).
    items = body.get("data") if isinstance(body, dict) else body
    models = [
        _model(
            i,
            display_name=_str(i.get("display_name")),
            owner=_str(i.get("organization")),
            context_length=_int(i.get("context_length")),
            created_at=_unix(i.get("created")),
        )
        for i in _items(items, None)
    ]
    return Page(_collect(models), None)


def _anthropic(body: Any) -> Page:
    models = [
        _model(
            i,
            display_name=_str(i.get("display_name")),
            owner="anthropic",
            created_at=_unix(i.get("created_at")),
        )
        for i in _items(body, "data")
    ]
    last = _str(body.get("last_id"))
    more = body.get("has_more") is True and last is not None
    return Page(_collect(models), {"limit": str(PAGE_SIZE), "after_id": last} if more else None)


def _google(body: Any) -> Page:
    models = []
    for i in _items(body, "models"):
        name = _str(i.get("name"))
        if name:
            models.append(
                DiscoveredModel(
                    id=name.removeprefix("models/"),
                    display_name=_str(i.get("displayName")),
                    owner="google",
                    context_length=_int(i.get("inputTokenLimit")),
                    description=_str(i.get("description")),
                )
            )
    token = _str(body.get("nextPageToken"))
    return Page(models, {"pageSize": str(PAGE_SIZE), "pageToken": token} if token else None)


def _cohere(body: Any) -> Page:
    models = [
        _model(i, "name", owner="cohere", context_length=_int(i.get("context_length")))
        for i in _items(body, "models")
    ]
    token = _str(body.get("next_page_token"))
    return Page(
        _collect(models), {"page_size": str(PAGE_SIZE), "page_token": token} if token else None
    )


def _replicate(body: Any) -> Page:
    models = []
    for i in _items(body, "results"):
        owner, name = _str(i.get("owner")), _str(i.get("name"))
        if owner and name:
            models.append(
                DiscoveredModel(
                    id=f"{owner}/{name}",
                    owner=owner,
                    description=_str(i.get("description")),
                )
            )
    # Only the cursor is taken from ``next``: the next request goes to our own base URL,
    # never to whatever host an answer names.
    cursor = None
    nxt = _str(body.get("next"))
    if nxt:
        cursor = (parse_qs(urlsplit(nxt).query).get("cursor") or [None])[0]
    return Page(models, {"cursor": cursor} if cursor else None)


def _ollama(body: Any) -> Page:
    models = []
    for i in _items(body, "models"):
        name = _str(i.get("name")) or _str(i.get("model"))
        if name:
            details = i.get("details") if isinstance(i.get("details"), dict) else {}
            size = _str(details.get("parameter_size"))
            quant = _str(details.get("quantization_level"))
            label = " ".join(p for p in (size, quant) if p) or None
            models.append(
                DiscoveredModel(
                    id=name,
                    display_name=f"{name} ({label})" if label else None,
                    owner=_str(details.get("family")),
                    created_at=_unix(i.get("modified_at")),
                )
            )
    return Page(models, None)


_PARSERS: dict[ListingStyle, Callable[[Any], Page]] = {
    ListingStyle.OPENAI: _openai,
    ListingStyle.TOGETHER: _together,
    ListingStyle.ANTHROPIC: _anthropic,
    ListingStyle.GOOGLE: _google,
    ListingStyle.COHERE: _cohere,
    ListingStyle.REPLICATE: _replicate,
    ListingStyle.OLLAMA: _ollama,
}
