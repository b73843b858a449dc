"""Build a syntactically valid call for any field from the schema, for sweeping tests."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)

_SCALARS = {"String": '"x"', "ID": '"x"', "Int": "1", "Float": "1.0", "Boolean": "true"}


def literal(type_: GraphQLInputType) -> str:
    if isinstance(type_, GraphQLNonNull):
        return literal(type_.of_type)
    if isinstance(type_, GraphQLList):
        return f"[{literal(type_.of_type)}]"
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        parts = [
            f"{name}: {literal(f.type)}"
            for name, f in type_.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        ]
        return "{" + ", ".join(parts) + "}"
    if isinstance(type_, GraphQLScalarType):
        return _SCALARS.get(type_.name, '"x"')
    raise TypeError(type_)


def call(name: str, field: GraphQLField) -> str:
    args = [
        f"{arg_name}: {literal(arg.type)}"
        for arg_name, arg in field.args.items()
        if isinstance(arg.type, GraphQLNonNull)
    ]
    return f"{name}({', '.join(args)})" if args else name
