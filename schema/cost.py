"""Demand control: what a document costs, before it runs and after (Apollo Router's and
GraphQL Hive's "cost" limits, after IBM's GraphQL cost specification).

Every object returned costs 1 plus what is selected below it (scalars cost nothing), and a
field declared with a weight (``metadata=BACKEND``, next to the field) adds it once: a field
that calls a backend costs more than one answered from the store or a snapshot. A list's
size is its slicing argument (``first``, ``limit``) when the document gives one (a literal,
or the variable's default), else the argument's default, else :data:`ASSUMED_LIST_SIZE`; on
a connection the slice sizes its ``nodes`` and ``edges``. The estimate is computed once per
distinct document (with validation) and is the most expensive operation of the document;
the actual cost counts the lists as returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)

BACKEND: Mapping[str, int] = {"cost": 10}
"""``strawberry.field(metadata=BACKEND)``: the field calls a backend (Lago, the Hub, Traefik,
Docker, Brigade)."""
ASSUMED_LIST_SIZE = 10
SLICING_ARGUMENTS = ("first", "limit")
SIZED_FIELDS = ("nodes", "edges")


@dataclass(frozen=True, slots=True)
class DocumentFacts:
    """What the gateway learns of a document once, when it first validates it."""

    cost: int
    fields: tuple[tuple[str, str], ...]
    """Every (type, field) the document selects, once each (schema usage counters)."""


def _weight(field: GraphQLField) -> int:
    definition = (field.extensions or {}).get("strawberry-definition")
    metadata = getattr(definition, "metadata", None) or {}
    return int(metadata.get("cost", 0))


def _is_list(field: GraphQLField) -> bool:
    kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(kind, GraphQLList)


class _Walk:
    def __init__(self, schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.fields: set[tuple[str, str]] = set()
        self.defaults: dict[str, Any] = {}

    def operation(self, op: OperationDefinitionNode) -> int:
        root = self.schema.get_root_type(op.operation)
        self.defaults = {
            v.variable.name.value: v.default_value.value
            for v in op.variable_definitions or ()
            if isinstance(v.default_value, IntValueNode)
        }
        return self.selection(op.selection_set, root, None, None, frozenset()) if root else 0

    def selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        slice_: int | None,
        data: Any,
        visiting: frozenset[str],
    ) -> int:
        """The cost below ``parent``; with ``data`` (the answer), lists count as returned."""
        if selection_set is None:
            return 0
        total = 0
        for sel in selection_set.selections:
            if isinstance(sel, FieldNode):
                total += self.field(sel, parent, slice_, data)
            elif isinstance(sel, InlineFragmentNode):
                kind = parent
                if sel.type_condition is not None:
                    kind = self.schema.get_type(sel.type_condition.name.value) or parent
                total += self.selection(sel.selection_set, kind, slice_, data, visiting)
            elif isinstance(sel, FragmentSpreadNode):
                name = sel.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting:
                    kind = self.schema.get_type(fragment.type_condition.name.value) or parent
                    total += self.selection(
                        fragment.selection_set, kind, slice_, data, visiting | {name}
                    )
        return total

    def field(self, node: FieldNode, parent: Any, slice_: int | None, data: Any) -> int:
        name = node.name.value
        fields = getattr(parent, "fields", None)
        if name.startswith("__") or not fields or name not in fields:
            return 0
        field = fields[name]
        self.fields.add((parent.name, name))
        child = get_named_type(field.type)
        own_slice = self._slice(node, field)
        key = node.alias.value if node.alias else name
        value = data.get(key) if isinstance(data, dict) else None
        cost = _weight(field)
        if not is_composite_type(child) or node.selection_set is None:
            return cost
        inner_slice = own_slice if not _is_list(field) else None
        if data is not None:  # the actual cost: what came back
            items = value if isinstance(value, list) else [value] if value is not None else []
            for item in items:
                cost += 1 + self.selection(node.selection_set, child, None, item, frozenset())
            return cost
        size = 1
        if _is_list(field):
            size = own_slice or (slice_ if name in SIZED_FIELDS else None) or ASSUMED_LIST_SIZE
        inner = self.selection(node.selection_set, child, inner_slice, None, frozenset())
        return cost + size * (1 + inner)

    def _slice(self, node: FieldNode, field: GraphQLField) -> int | None:
        for arg_name in SLICING_ARGUMENTS:
            if arg_name not in field.args:
                continue
            for arg in node.arguments or ():
                if arg.name.value != arg_name:
                    continue
                if isinstance(arg.value, IntValueNode):
                    return int(arg.value.value)
                if isinstance(arg.value, VariableNode):
                    default = self.defaults.get(arg.value.name.value)
                    return int(default) if default is not None else _int(field.args[arg_name])
            return _int(field.args[arg_name])
        return None


def _int(arg: Any) -> int | None:
    default = arg.default_value
    return default if isinstance(default, int) and not isinstance(default, bool) else None


def document_facts(schema: GraphQLSchema, document: DocumentNode) -> DocumentFacts:
    walk = _Walk(schema, document)
    costs = [
        walk.operation(d) for d in document.definitions if isinstance(d, OperationDefinitionNode)
    ]
    return DocumentFacts(cost=max(costs, default=0), fields=tuple(sorted(walk.fields)))


def actual_cost(
    schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, data: Any
) -> int:
    """The cost of the answer: lists count the elements they returned."""
    walk = _Walk(schema, document)
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        if operation_name is None or (op.name and op.name.value == operation_name):
            root = schema.get_root_type(op.operation)
            return walk.selection(op.selection_set, root, None, data or {}, frozenset())
    return 0
