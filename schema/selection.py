"""What a field's sub-selection asks for (fragments included)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.context import Info


def selects(info: Info, name: str) -> bool:
    """Whether a field called ``name`` appears anywhere below the current field.

    An over-approximation (it ignores ``@skip``/``@include`` and which type a fragment is
    on): good for deciding to fetch something that is cheap to fetch needlessly.
    """

    def walk(selections: Iterable[Any]) -> bool:
        for selection in selections:
            if getattr(selection, "name", None) == name and hasattr(selection, "alias"):
                return True
            if walk(getattr(selection, "selections", ())):
                return True
        return False

    return any(walk(field.selections) for field in info.selected_fields)
