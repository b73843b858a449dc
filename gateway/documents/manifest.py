"""The manifests a frontend build produces, read into one shape; and the manifest of our own
example operations (``examples/operations/*.graphql``).

Two formats are read:

- Apollo's persisted query manifest (``@apollo/generate-persisted-query-manifest``):
  ``{"format": "apollo-persisted-query-manifest", "version": 1,
  "operations": [{"id", "name", "type", "body"}]}``;
- GraphQL Codegen's ``persisted-documents.json`` (client preset), also Relay's: a flat object
  ``{"<id>": "<document>"}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    OperationDefinitionNode,
    Visitor,
    parse,
    print_ast,
    visit,
)

APOLLO_FORMAT = "apollo-persisted-query-manifest"
MAX_ID_LENGTH = 200


class ManifestError(ValueError):
    """The file is not a manifest we can read; the message says why."""


@dataclass(frozen=True, slots=True)
class ManifestDocument:
    id: str
    body: str
    name: str | None = None
    type: str | None = None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(data: Any) -> list[ManifestDocument]:
    """The documents of a decoded manifest (either format), or :class:`ManifestError`."""
    if isinstance(data, dict) and data.get("format") == APOLLO_FORMAT:
        return _apollo(data)
    if isinstance(data, dict) and "format" in data:
        raise ManifestError(f"unknown manifest format {str(data['format'])[:60]!r}")
    if isinstance(data, dict) and data and all(isinstance(v, str) for v in data.values()):
        return [_document(id, body) for id, body in data.items()]
    raise ManifestError(
        "not a persisted document manifest: expected Apollo's "
        f'{{"format": "{APOLLO_FORMAT}", ...}} or a JSON object of id -> document '
        "(GraphQL Codegen's persisted-documents.json)"
    )


def _apollo(data: dict[str, Any]) -> list[ManifestDocument]:
    if data.get("version") != 1:
        raise ManifestError(f"unsupported {APOLLO_FORMAT} version {data.get('version')!r}")
    operations = data.get("operations")
    if not isinstance(operations, list):
        raise ManifestError("`operations` must be a list")
    documents = []
    for index, op in enumerate(operations):
        if not isinstance(op, dict) or not isinstance(op.get("body"), str):
            raise ManifestError(f"operations[{index}]: needs a string `body`")
        name, kind = op.get("name"), op.get("type")
        documents.append(
            _document(
                op.get("id"),
                op["body"],
                name=name if isinstance(name, str) else None,
                type=kind if isinstance(kind, str) else None,
            )
        )
    return documents


def _document(id: Any, body: str, **extra: str | None) -> ManifestDocument:
    if not isinstance(id, str) or not id or len(id) > MAX_ID_LENGTH or not id.isprintable():
        raise ManifestError(f"document id {str(id)[:60]!r}: must be 1-{MAX_ID_LENGTH} printable")
    if not body.strip():
        raise ManifestError(f"document {id}: empty body")
    return ManifestDocument(id=id, body=body, **extra)


def operations_manifest(paths: Iterable[Path]) -> dict[str, Any]:
    """Apollo's manifest for the operations in these ``.graphql`` files: one entry per
    operation, its body holding the fragments it uses, its id the SHA-256 of the body (what
    Apollo's generator does by default)."""
    operations = []
    for path in sorted(paths):
        try:
            document = parse(path.read_text())
        except GraphQLError as exc:
            raise ManifestError(f"{path}: {exc.message}") from None
        for op, body in split_operations(document):
            if op.name is None:
                raise ManifestError(f"{path}: every operation needs a name")
            entry = {"id": sha256_hex(body), "name": op.name.value, "type": op.operation.value}
            operations.append({**entry, "body": body})
    operations.sort(key=lambda o: o["name"])
    names = [o["name"] for o in operations]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise ManifestError(f"operation names must be unique: {', '.join(duplicates)}")
    return {"format": APOLLO_FORMAT, "version": 1, "operations": operations}


def split_operations(document: DocumentNode) -> list[tuple[OperationDefinitionNode, str]]:
    """Each operation of ``document`` printed with the fragments it needs (transitively)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    result = []
    for op in document.definitions:
        if not isinstance(op, OperationDefinitionNode):
            continue
        needed: list[str] = []
        pending = _spreads(op)
        while pending:
            name = pending.pop(0)
            if name in needed or name not in fragments:
                continue
            needed.append(name)
            pending.extend(_spreads(fragments[name]))
        parts = [op, *(fragments[n] for n in sorted(needed))]
        result.append((op, print_ast(DocumentNode(definitions=tuple(parts)))))
    return result


def _spreads(node: Any) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_: Any) -> None:
            names.append(spread.name.value)

    visit(node, Spreads())
    return names
