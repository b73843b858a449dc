"""Helpers of the permission matrix test: operations generated from the committed SDL, the
permissions each root field declares in code, and a snapshot of everything in the store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import strawberry
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    build_schema,
    get_named_type,
)
from strawberry.permission import PermissionExtension

from gateway.jobs.replicas import liveness_key
from gateway.store.base import Store, all_documents
from schema.permissions import Authenticated, Require, RequireAny

SDL: GraphQLSchema = build_schema((Path(__file__).parents[2] / "schema.graphql").read_text())
ROOT_TYPES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}

# Dummy values of every scalar the SDL uses (schema/scalars.py, strawberry's built-ins): an
# unknown new scalar raises KeyError, so it gets a value here before it gets a matrix row.
SCALAR_VALUES: dict[str, object] = {
    "String": "matrix",
    "ID": "matrix",
    "Int": 1,
    "Float": 1.0,
    "Boolean": True,
    "Bytes": 1,
    "Cents": 1,
    "UsageCount": 1,
    "Date": "2024-01-01",
    "DateTime": "2024-01-01T00:00:00+00:00",
    "Decimal": "1",
    "JSON": {},
}


@dataclass(frozen=True)
class Operation:
    kind: str
    field: str
    query: str
    variables: dict[str, Any]


def root_fields(kind: str) -> dict[str, GraphQLField]:
    root = SDL.get_type(ROOT_TYPES[kind])
    assert isinstance(root, GraphQLObjectType), kind
    return dict(root.fields)


def required(item: GraphQLArgument | GraphQLInputField) -> bool:
    """Non-null without a default (graphql-core 3.3 keeps an SDL default in ``default``)."""
    return isinstance(item.type, GraphQLNonNull) and item.default in (None, Undefined)


def dummy(type_: GraphQLInputType) -> object:
    """A type-correct value: required input fields only, lists of one item."""
    if isinstance(type_, GraphQLNonNull):
        return dummy(type_.of_type)
    if isinstance(type_, GraphQLList):
        return [dummy(type_.of_type)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        return {name: dummy(f.type) for name, f in type_.fields.items() if required(f)}
    assert isinstance(type_, GraphQLScalarType), type_
    return SCALAR_VALUES[type_.name]


def operation(kind: str, name: str) -> Operation:
    """``kind Matrix($a: T!) { name(a: $a) { __typename } }``, required arguments only."""
    field = root_fields(kind)[name]
    args = {arg_name: arg for arg_name, arg in field.args.items() if required(arg)}
    declared = ", ".join(f"${a}: {arg.type}" for a, arg in args.items())
    passed = ", ".join(f"{a}: ${a}" for a in args)
    composite = (GraphQLObjectType, GraphQLUnionType, GraphQLInterfaceType)
    selection = " { __typename }" if isinstance(get_named_type(field.type), composite) else ""
    query = (
        f"{kind} Matrix{f'({declared})' if declared else ''} "
        f"{{ {name}{f'({passed})' if passed else ''}{selection} }}"
    )
    return Operation(kind, name, query, {a: dummy(arg.type) for a, arg in args.items()})


def declared_permissions(schema: strawberry.Schema, type_name: str) -> dict[str, frozenset[str]]:
    """Root field -> the permissions (any one suffices) its guard declares in code; an empty
    set for :class:`Authenticated` (signed in is enough)."""
    definition = schema.get_type_by_name(type_name)
    declared: dict[str, frozenset[str]] = {}
    for field in definition.fields:  # type: ignore[union-attr]
        extensions = [e for e in field.extensions if isinstance(e, PermissionExtension)]
        guards = [p for e in extensions for p in e.permissions]
        assert len(guards) == 1, (field.name, guards)
        guard = guards[0]
        if isinstance(guard, RequireAny):
            needs = guard.permissions
        elif isinstance(guard, Require):
            needs = frozenset({guard.permission})
        else:
            assert isinstance(guard, Authenticated), (field.name, guard)
            needs = frozenset()
        declared[field.graphql_name or schema.config.name_converter.get_graphql_name(field)] = needs
    return declared


def _names(db_path: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """Collections, streams, counter namespaces and TTL keys present (the Store protocol
    cannot list them), from a read-only connection to the SQLite file."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:

        def column(sql: str) -> list[str]:
            return [row[0] for row in conn.execute(sql)]

        return (
            column("SELECT DISTINCT collection FROM documents"),
            column("SELECT DISTINCT stream FROM log_heads"),
            column("SELECT DISTINCT namespace FROM counters"),
            column("SELECT key FROM ttl"),
        )


async def snapshot(store: Store, store_url: str) -> dict[str, object]:
    """Every document (with its version), every log's length, every counter and TTL entry;
    the job runners' heartbeat entries left out (they change on their own)."""
    collections, streams, namespaces, ttl_keys = _names(store_url.removeprefix("sqlite:///"))
    heartbeat = liveness_key("")
    return {
        "documents": {
            c: {d.id: (d.version, d.data) async for d in all_documents(store, c)}
            for c in collections
        },
        "logs": {s: await store.log_length(s) for s in streams},
        "counters": {n: await store.counters(n) for n in namespaces},
        "ttl": {k: await store.get_ttl(k) for k in ttl_keys if not k.startswith(heartbeat)},
    }
