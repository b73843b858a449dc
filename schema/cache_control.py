"""``@cacheControl``: how long a root field's answer may be reused (Apollo's convention).

Declared next to the field (``directives=[cache_control(30)]``) and printed in
``schema.graphql``. The response cache (``GATEWAY_RESPONSE_CACHE=on``) reuses an answer for
the smallest ``maxAge`` among the operation's root fields; a root field without the
directive (``me``, ``access``) makes the operation uncacheable. ``PRIVATE`` answers depend
on who asks (not only on what they may see) and are kept per subject; every answer is kept
per permission set. ``domain`` names what mutations and webhooks invalidate.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import strawberry
from strawberry.schema_directive import Location


@strawberry.enum(name="CacheControlScope")
class CacheScope(Enum):
    PUBLIC = "PUBLIC"
    PRIVATE = "PRIVATE"


@strawberry.schema_directive(
    name="cacheControl",
    locations=[Location.FIELD_DEFINITION],
    description="How long an answer of this field may be reused, and by whom.",
)
class CacheControl:
    max_age: int
    scope: CacheScope = CacheScope.PUBLIC
    domain: str | None = None


def cache_control(
    max_age: int, *, domain: str, scope: CacheScope = CacheScope.PUBLIC
) -> CacheControl:
    return CacheControl(max_age=max_age, scope=scope, domain=domain)


def root_policies(schema: Any) -> dict[str, CacheControl]:
    """Root query field name (as in documents) -> its cache policy."""
    policies: dict[str, CacheControl] = {}
    query_type = schema.get_type_by_name("Query")
    for field in query_type.fields:
        for directive in field.directives:
            if isinstance(directive, CacheControl):
                policies[schema.config.name_converter.get_graphql_name(field)] = directive
    return policies
