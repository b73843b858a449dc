"""Serving settings in the Store: defaults, per-model overrides, optimistic updates."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.errors import ConflictError
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.serving import DEFAULTS_ID, NAMES, ServingSettings, check_values
from gateway.store import names
from gateway.store.base import Store


@dataclass(frozen=True, slots=True)
class SettingsView:
    model_id: str | None
    """None: the defaults every model inherits."""
    effective: ServingSettings
    overridden: tuple[str, ...]
    """Fields this model (or, for the defaults, the operator) set explicitly."""
    version: int
    updated_at: float | None
    updated_by: str | None


class ServingStore:
    def __init__(self, *, store: Store) -> None:
        self._store = store

    async def view(self, model_id: str | None) -> SettingsView:
        docs = await self._store.get_many(
            names.MODELS_SETTINGS, [DEFAULTS_ID, model_id or DEFAULTS_ID]
        )
        defaults = docs.get(DEFAULTS_ID)
        own = docs.get(model_id or DEFAULTS_ID)
        base = _values(defaults)
        effective = ServingSettings().with_values(base)
        values = _values(own)
        if model_id is not None:
            effective = effective.with_values(values)
        return SettingsView(
            model_id=model_id,
            effective=effective,
            overridden=tuple(n for n in NAMES if n in values),
            version=own.version if own is not None else 0,
            updated_at=own.data.get("updated_at") if own is not None else None,
            updated_by=own.data.get("updated_by") if own is not None else None,
        )

    async def preview(self, model_id: str | None, changes: Mapping[str, Any]) -> ServingSettings:
        """The effective settings once ``changes`` are applied (each field validated)."""
        stored = check_values(changes)
        docs = await self._store.get_many(
            names.MODELS_SETTINGS, [DEFAULTS_ID, model_id or DEFAULTS_ID]
        )
        defaults = _values(docs.get(DEFAULTS_ID))
        if model_id is None:
            return ServingSettings().with_values(_merge(defaults, stored, model=False))
        own = _merge(_values(docs.get(model_id)), stored, model=True)
        return ServingSettings().with_values(defaults).with_values(own)

    async def update(
        self,
        model_id: str | None,
        changes: Mapping[str, Any],
        *,
        actor: str,
        expected_version: int | None,
    ) -> SettingsView:
        stored = check_values(changes)
        doc_id = model_id or DEFAULTS_ID
        current = await self._store.get(names.MODELS_SETTINGS, doc_id)
        values = _merge(_values(current), stored, model=model_id is not None)
        data = {"values": values, "updated_at": time.time(), "updated_by": actor}
        version = expected_version
        if version is None:
            version = current.version if current is not None else 0
        try:
            await self._store.put(names.MODELS_SETTINGS, doc_id, data, expected_version=version)
        except ConflictError:
            raise ModelsFailure(
                ModelsFailureCode.CONFLICT,
                "the settings changed meanwhile; reload them and try again",
                field="expectedVersion",
            ) from None
        return await self.view(model_id)


def _merge(values: dict[str, Any], changes: dict[str, Any], *, model: bool) -> dict[str, Any]:
    merged = dict(values)
    for name, value in changes.items():
        if value is None and model:
            merged.pop(name, None)  # null on a model: inherit the default again
        else:
            merged[name] = value
    return merged


def _values(doc: Any) -> dict[str, Any]:
    if doc is None:
        return {}
    values = doc.data.get("values")
    return dict(values) if isinstance(values, dict) else {}
