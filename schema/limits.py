"""Query limits checked before the standard validation (DESIGN §6).

They run first, in one cheap pass over the document, and a failing document skips the standard
rules altogether: some of those are quadratic in the number of fields (overlapping-fields
checks), which is exactly what an abusive query would exploit. Unlike Strawberry's built-in
depth limiter, introspection fields count too, so ``ofType { ofType { ... } }`` cannot nest
without bound.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from gateway.errors import ErrorCode
from gateway.metrics import Metrics
from gateway.settings import Limits
from schema.cost import DocumentFacts, actual_cost, document_facts

_CODE = {"code": ErrorCode.QUERY_TOO_COMPLEX.value}


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    visiting: frozenset[str],
    cap: int,
) -> int:
    """Depth of nested fields below this selection set; stops counting past ``cap``."""
    if selection_set is None or cap <= 0:
        return 0
    deepest = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            depth = 1 + _depth(selection.selection_set, fragments, visiting, cap - 1)
        elif isinstance(selection, InlineFragmentNode):
            depth = _depth(selection.selection_set, fragments, visiting, cap)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is None or name in visiting:  # unknown or cyclic: validation reports it
                continue
            depth = _depth(fragment.selection_set, fragments, visiting | {name}, cap)
        else:
            continue
        deepest = max(deepest, depth)
    return deepest


def _aliases(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    if selection_set is None:
        return 0
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += (selection.alias is not None) + _aliases(
                selection.selection_set, fragments, seen
            )
        elif isinstance(selection, InlineFragmentNode):
            count += _aliases(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            # Count each fragment every time it is spread: that is what execution pays.
            if name in fragments and name not in seen:
                count += _aliases(fragments[name].selection_set, fragments, seen | {name})
    return count


def check_limits(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    errors: list[GraphQLError] = []
    for operation in _operations(document):
        name = operation.name.value if operation.name else "anonymous"
        depth = _depth(operation.selection_set, fragments, frozenset(), limits.max_depth + 1)
        if depth > limits.max_depth:
            message = f"operation {name!r} is deeper than the limit of {limits.max_depth}"
            errors.append(GraphQLError(message, [operation], extensions=_CODE))
        aliases = _aliases(operation.selection_set, fragments, set())
        if aliases > limits.max_aliases:
            message = f"operation {name!r} has {aliases} aliases; the limit is {limits.max_aliases}"
            errors.append(GraphQLError(message, [operation], extensions=_CODE))
    return errors


def _operations(document: DocumentNode) -> Iterator[OperationDefinitionNode]:
    return (d for d in document.definitions if isinstance(d, OperationDefinitionNode))


@dataclass(frozen=True, slots=True)
class Validated:
    """A document's validation outcome and what was learnt of it, kept by query text."""

    errors: list[GraphQLError]
    facts: DocumentFacts | None = None
    counters: list[Any] = field(default_factory=list)
    """Its schema-usage counters, resolved once (``/metrics``)."""


class ValidationResults:
    """An LRU of validation outcomes by query text, shared by the requests of one schema."""

    def __init__(self, *, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[str, Validated] = OrderedDict()

    def get(self, query: str) -> Validated | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def put(self, query: str, entry: Validated) -> None:
        self._entries[query] = entry
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)


class QueryLimits(SchemaExtension):
    """Limits first, then the standard rules, then the cost, with the outcome cached by query
    text; each execution counts the fields its document selects.

    This replaces Strawberry's ValidationCache, which would run (and cache) the standard rules
    before any limit could stop them.
    """

    def __init__(
        self, *, limits: Limits, cache: ValidationResults, metrics: Metrics | None = None
    ) -> None:
        self.limits = limits
        self.cache = cache
        self.metrics = metrics
        self._cost: int | None = None

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and ctx.pre_execution_errors is None:
            key = ctx.query or ""
            entry = self.cache.get(key) if key else None
            if entry is None:
                entry = self._validate(document)
                if key:
                    self.cache.put(key, entry)
            ctx.pre_execution_errors = entry.errors
            if entry.facts is not None and not entry.errors:
                self._cost = entry.facts.cost
                for counter in entry.counters:
                    counter.inc()
        yield

    def _validate(self, document: DocumentNode) -> Validated:
        schema = self.execution_context.schema._schema
        errors = check_limits(document, self.limits) or validate_document(
            schema, document, self.execution_context.validation_rules
        )
        if errors:
            return Validated(errors)
        facts = document_facts(schema, document)
        if facts.cost > self.limits.max_cost:
            message = (
                f"the document's estimated cost {facts.cost} is over the limit of "
                f"{self.limits.max_cost}: ask for smaller pages or fewer fields"
            )
            cost = {"estimated": facts.cost, "max": self.limits.max_cost}
            return Validated([GraphQLError(message, extensions={**_CODE, "cost": cost})], facts)
        counters = self.metrics.field_counters(facts.fields) if self.metrics else []
        return Validated([], facts, counters)

    def get_results(self) -> dict[str, Any]:
        """``extensions.cost`` when the request asked for it (``"extensions": {"cost": true}``)."""
        ctx = self.execution_context
        if self._cost is None or not (ctx.operation_extensions or {}).get("cost"):
            return {}
        result = ctx.result
        data = getattr(result, "data", None)
        actual = None
        if data is not None and ctx.graphql_document is not None:
            actual = actual_cost(ctx.schema._schema, ctx.graphql_document, ctx.operation_name, data)
        return {"cost": {"estimated": self._cost, "actual": actual, "max": self.limits.max_cost}}
