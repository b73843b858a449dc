"""A faster completion of lists of plain objects (issue 11).

graphql-core completes every field of every object through the whole field pipeline (resolve
info, resolver call, awaitable checks, value completion): about 10 µs a field, so a page of
100 objects of 3 fields costs 3 ms. Most of a dashboard's lists are plain data, though:
objects whose selected fields are attributes without resolvers, arguments, permissions or
directives. For those, :class:`FastListExecution` builds the result dicts directly —
attribute, then the leaf type's own output coercion, exactly what the pipeline would do.

Anything else (a resolver, an argument, ``@defer``, an abstract type, a ``None`` where the
schema forbids one, any exception) goes through graphql-core's own path, for the whole
list, so errors are reported exactly as before. A plan is made once per list selection of a
request (like graphql-core's memoised sub-field collection), not once per item.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable
from typing import Any
from weakref import WeakMethod

from graphql import (
    GraphQLField,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    Undefined,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import AwaitableOrValue, Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

BACKREF = "strawberry-definition"
TYPENAME = "__typename"
_NO_PLAN = object()

# A plan: one step per response key.
#   (key, "typename", type name)
#   (key, "leaf", (attribute, leaf type, non-null))
#   (key, "leaves", (attribute, leaf type, list non-null, item non-null))
#   (key, "object", (attribute, sub-plan, non-null))
Step = tuple[str, str, Any]


class _Fallback(Exception):
    """This list cannot take the fast path: use graphql-core's."""


class FastListExecution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # graphql-core keeps two of this executor's bound methods in ``async_helpers``: a
        # reference cycle that would leave every request's executor, context and request to
        # the garbage collector. Weak methods keep them reachable for as long as the
        # executor runs (its own frames hold it) without the cycle.
        self.async_helpers = GraphQLResolveInfoHelpers(
            gather=_weak(self.gather_async_work), track=_weak(self.track_async_work)
        )
        self._fast_plans: dict[Any, Any] = {}
        # Extensions with a ``resolve`` hook wrap every resolver: such a request must go
        # through every field, so no fast path.
        manager = self.middleware_manager
        self._wrapped_resolvers = bool(manager is not None and manager.middlewares)

    def build_per_event_executor(self, payload: Any) -> Any:
        # graphql-core (3.3) makes each subscription event's executor as a shallow copy, so
        # its memo of sub-field collections (and ours of list plans) would be shared by
        # every event of the subscription; each event collects its fields anew (new lists,
        # new ids as keys), so the shared memo would grow for as long as the subscription
        # lives (found by the soak: about 1 kB per delivered event). Each event gets its own.
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        executor._fast_plans = {}
        return executor

    def complete_iterable_value(
        self,
        item_type: GraphQLOutputType,
        field_details_list: FieldDetailsList,
        info: GraphQLResolveInfo,
        path: Path,
        items: Iterable[Any],
        position_context: Any,
    ) -> AwaitableOrValue[list[Any]]:
        if isinstance(items, list) and items and not self._wrapped_resolvers:
            plan = self._list_plan(item_type, field_details_list)
            if plan is not None:
                try:
                    return [self._complete(plan, item) for item in items]
                except _Fallback:
                    pass
        return super().complete_iterable_value(
            item_type, field_details_list, info, path, items, position_context
        )

    # -- planning --------------------------------------------------------------------------
    def _list_plan(
        self, item_type: GraphQLOutputType, field_details_list: FieldDetailsList
    ) -> tuple[list[Step], GraphQLObjectType] | None:
        cache = self._fast_plans
        key = (item_type, id(field_details_list))
        found = cache.get(key, _NO_PLAN)
        if found is _NO_PLAN:
            inner = item_type.of_type if is_non_null_type(item_type) else item_type
            found = None
            if is_object_type(inner) and not inner.is_type_of:  # type: ignore[union-attr]
                steps = self._object_plan(inner, field_details_list)  # type: ignore[arg-type]
                found = None if steps is None else (steps, inner)
            cache[key] = found
            cache[(key, "keep")] = field_details_list  # keep the id unique, as graphql-core
        return found

    def _object_plan(
        self, object_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> list[Step] | None:
        grouped, defer_usages, _ = self.collect_subfields(object_type, field_details_list)
        if defer_usages:
            return None
        steps: list[Step] = []
        for response_key, details in grouped.items():
            name = details[0].node.name.value
            if name == TYPENAME:
                steps.append((response_key, "typename", object_type.name))
                continue
            field = object_type.fields.get(name)
            step = None if field is None else self._field_step(field, details)
            if step is None:
                return None
            steps.append((response_key, *step))
        return steps

    def _field_step(self, field: GraphQLField, details: FieldDetailsList) -> tuple | None:
        attribute = _plain_attribute(field)
        if attribute is None or any(d.node.arguments or d.defer_usage for d in details):
            return None
        non_null = is_non_null_type(field.type)
        inner = field.type.of_type if non_null else field.type  # type: ignore[union-attr]
        if is_leaf_type(inner):
            return "leaf", (attribute, inner, non_null)
        if is_list_type(inner):
            item = inner.of_type  # type: ignore[union-attr]
            item_non_null = is_non_null_type(item)
            leaf = item.of_type if item_non_null else item
            if is_leaf_type(leaf):
                return "leaves", (attribute, leaf, non_null, item_non_null)
            return None
        if is_object_type(inner) and not inner.is_type_of:  # type: ignore[union-attr]
            sub = self._object_plan(inner, details)  # type: ignore[arg-type]
            return None if sub is None else ("object", (attribute, sub, non_null))
        return None

    # -- completing ----------------------------------------------------------------------------
    def _complete(self, plan: tuple[list[Step], GraphQLObjectType], item: Any) -> dict[str, Any]:
        if item is None:
            raise _Fallback
        return self._fields(plan[0], item)

    def _fields(self, steps: list[Step], source: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        try:
            for key, kind, spec in steps:
                if kind == "typename":
                    out[key] = spec
                elif kind == "leaf":
                    attribute, leaf_type, non_null = spec
                    out[key] = _value(getattr(source, attribute), leaf_type, non_null)
                elif kind == "leaves":
                    attribute, leaf_type, non_null, item_non_null = spec
                    values = getattr(source, attribute)
                    if values is None:
                        out[key] = _absent(non_null)
                    else:
                        out[key] = [_value(v, leaf_type, item_non_null) for v in values]
                else:
                    attribute, sub, non_null = spec
                    value = getattr(source, attribute)
                    out[key] = _absent(non_null) if value is None else self._fields(sub, value)
        except _Fallback:
            raise
        except Exception:  # whatever it is, graphql-core's path reports it properly
            raise _Fallback from None
        return out


def _weak(method: Callable[..., Any]) -> Callable[..., Any]:
    ref = WeakMethod(method)

    def call(*args: Any, **kwargs: Any) -> Any:
        return ref()(*args, **kwargs)  # type: ignore[misc]

    return call


def _absent(non_null: bool) -> None:
    if non_null:
        raise _Fallback  # a non-null field without a value: graphql-core's error path
    return None


def _value(value: Any, leaf_type: GraphQLLeafType, non_null: bool) -> Any:
    if value is None or value is Undefined:
        return _absent(non_null)
    return _leaf(leaf_type, value)


def _leaf(leaf_type: GraphQLLeafType, value: Any) -> Any:
    coerced = leaf_type.coerce_output_value(value)
    if coerced is None or coerced is Undefined:
        raise _Fallback
    return coerced


def _plain_attribute(field: GraphQLField) -> str | None:
    """The Python attribute a Strawberry field reads when it is plain data, else None."""
    if field.args or not getattr(field.resolve, "_is_default", False):
        return None
    definition = (field.extensions or {}).get(BACKREF)
    if definition is None or definition.extensions or definition.base_resolver is not None:
        return None
    if getattr(definition, "default_resolver", builtins.getattr) is not builtins.getattr:
        return None
    return definition.python_name
