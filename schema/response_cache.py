"""Which answers the response cache may keep, for how long, and under which key (issue 11).

A query is cacheable when every root field it selects declares ``@cacheControl``; it is kept
for the smallest ``maxAge``, keyed by the document, the operation name, the variables, the
caller's permission set (never shared across permission sets), the subject when a field is
``PRIVATE``, and the generation of each domain it touches. A mutation invalidates the domain
its permission belongs to; Lago's webhooks invalidate ``revenue``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    parse,
)
from strawberry.permission import PermissionExtension
from strawberry.types import ExecutionResult

from gateway.context import Context
from gateway.response_cache import CacheUnavailable, ResponseCache
from schema.cache_control import CacheScope, root_policies
from schema.permissions import Require

# A mutation's permission resource -> the cached domain it changes.
RESOURCE_DOMAIN = {
    "revenue": "revenue", "models": "models", "usage": "usage", "providers": "providers",
    "services": "traffic", "containers": "traffic", "certificates": "traffic",
    "agents": "agents",
}  # fmt: skip
ANALYSED = 1024


@dataclass(frozen=True, slots=True)
class CachePlan:
    max_age: int
    domains: frozenset[str]
    private: bool


@dataclass(frozen=True, slots=True)
class _Analysis:
    kind: OperationType | None
    roots: frozenset[str]


class ResponseCachePolicy:
    def __init__(self, schema: Any) -> None:
        self._roots = root_policies(schema)
        self._mutations = mutation_domains(schema)
        self._analysed: OrderedDict[tuple[str, str | None], _Analysis] = OrderedDict()

    def plan(self, query: str, operation_name: str | None) -> CachePlan | None:
        """How to cache this query's answer, or None (not a query, or a root field without
        a policy)."""
        found = self._analyse(query, operation_name)
        if found.kind is not OperationType.QUERY or not found.roots:
            return None
        policies = [self._roots.get(name) for name in found.roots]
        if any(p is None or p.max_age <= 0 for p in policies):
            return None
        return CachePlan(
            max_age=min(p.max_age for p in policies),  # type: ignore[union-attr]
            domains=frozenset(p.domain for p in policies if p and p.domain),  # type: ignore[misc]
            private=any(p.scope is CacheScope.PRIVATE for p in policies),  # type: ignore[union-attr]
        )

    def invalidated_by(self, query: str, operation_name: str | None) -> set[str]:
        """The domains a mutation document changes."""
        found = self._analyse(query, operation_name)
        if found.kind is not OperationType.MUTATION:
            return set()
        return {self._mutations[name] for name in found.roots if name in self._mutations}

    @staticmethod
    def key(
        plan: CachePlan,
        *,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        permissions: Iterable[str],
        subject: str | None,
        generations: dict[str, int],
    ) -> str:
        parts = [
            query,
            operation_name or "",
            orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS).decode(),
            ",".join(sorted(permissions)),
            subject or "" if plan.private else "",
            ",".join(f"{d}={generations.get(d, 0)}" for d in sorted(plan.domains)),
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()

    def _analyse(self, query: str, operation_name: str | None) -> _Analysis:
        key = (query, operation_name)
        found = self._analysed.get(key)
        if found is None:
            found = _analyse(query, operation_name)
            self._analysed[key] = found
            if len(self._analysed) > ANALYSED:
                self._analysed.popitem(last=False)
        return found


def _analyse(query: str, operation_name: str | None) -> _Analysis:
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return _Analysis(None, frozenset())
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return _Analysis(None, frozenset())
    fragments = {d.name.value: d for d in document.definitions if hasattr(d, "type_condition")}
    roots: set[str] = set()
    seen: set[str] = set()

    def walk(selection_set: SelectionSetNode) -> None:
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                if node.name.value != "__typename":
                    roots.add(node.name.value)
            elif isinstance(node, InlineFragmentNode):
                walk(node.selection_set)
            elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
                seen.add(node.name.value)
                fragment = fragments.get(node.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    walk(operations[0].selection_set)
    return _Analysis(operations[0].operation, frozenset(roots))


def mutation_domains(schema: Any) -> dict[str, str]:
    """Mutation field name -> the domain its permission's resource belongs to."""
    found: dict[str, str] = {}
    mutation = schema.get_type_by_name("Mutation")
    for field in mutation.fields if mutation else ():
        for extension in field.extensions:
            if not isinstance(extension, PermissionExtension):
                continue
            for permission in extension.permissions:
                if isinstance(permission, Require):
                    resource = permission.permission.split(":")[0]
                    if resource in RESOURCE_DOMAIN:
                        name = schema.config.name_converter.get_graphql_name(field)
                        found[name] = RESOURCE_DOMAIN[resource]
    return found


class ResponseCaching:
    """Runs an operation through the cache: a hit answers without executing; a miss without
    errors is stored; a mutation invalidates its domains. ``extensions.cache`` says which."""

    def __init__(self, *, policy: ResponseCachePolicy, cache: ResponseCache) -> None:
        self.policy = policy
        self.cache = cache

    async def execute(
        self,
        run: Callable[[], Awaitable[ExecutionResult]],
        *,
        query: str | None,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        context: Context,
    ) -> ExecutionResult:
        if not query:
            return await run()
        plan = self.policy.plan(query, operation_name)
        key = None
        if plan is not None and context.principal is not None:
            try:
                generations = await self.cache.generations(plan.domains)
            except CacheUnavailable:
                generations = None
            if generations is not None:
                key = self.policy.key(
                    plan,
                    query=query,
                    operation_name=operation_name,
                    variables=variables,
                    permissions=context.permissions,
                    subject=context.principal.subject,
                    generations=generations,
                )
                hit = await self.cache.get(key)
                if hit is not None:
                    return ExecutionResult(
                        data=orjson.loads(hit),
                        errors=None,
                        extensions={"cache": {"status": "HIT", "maxAge": plan.max_age}},
                    )
        result = await run()
        if key is not None and plan is not None:
            if not result.errors and result.data is not None:
                await self.cache.set(key, orjson.dumps(result.data), plan.max_age)
            status = {"status": "MISS", "maxAge": plan.max_age}
            result.extensions = {**(result.extensions or {}), "cache": status}
        for domain in self.policy.invalidated_by(query, operation_name):
            await self.cache.invalidate(domain)
        return result
