"""GraphQL enums made from the domain's own tables, so that a new value is one row there."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from typing import Any

import strawberry


def enum_of(name: str, values: Iterable[str], *, description: str | None = None) -> Any:
    """An enum named ``name`` whose members are ``values`` in upper case (``models:read``'s
    resource ``models`` is ``MODELS``), in the table's order."""
    members = {value.upper(): value for value in values}
    return strawberry.enum(Enum(name, members), description=description)  # type: ignore[misc]
