"""A GraphQL type built from the domain object it mirrors: every field the two share by name
is copied, so a type's builder names only what it converts or renames."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


@cache
def _fields(cls: type) -> tuple[str, ...]:
    """The fields given to the constructor (not resolvers), read once per type."""
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def mirror(cls: type[T], source: object, /, **given: Any) -> T:
    """``cls`` with each field in ``given`` as given and every other one read from the
    attribute of ``source`` of the same name."""
    copied = {name: getattr(source, name) for name in _fields(cls) if name not in given}
    return cls(**copied, **given)
