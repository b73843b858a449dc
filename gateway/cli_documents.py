"""``ops-gateway documents import MANIFEST.json | list | revoke ID | manifest PATH...``:
the trusted documents (GATEWAY_DOCUMENTS=trusted) and the manifest of ``.graphql`` files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson


def _validation_errors(documents: list[Any]) -> list[str]:
    """Each document that does not parse or validate against this gateway's schema: a
    manifest built for another version of the API is refused before it is trusted."""
    from graphql import GraphQLError, parse, validate

    from schema import build_schema

    schema = build_schema()._schema
    problems = []
    for doc in documents:
        try:
            errors = validate(schema, parse(doc.body))
        except GraphQLError as exc:
            errors = [exc]
        problems += [f"{doc.id}: {e.message}" for e in errors[:3]]
    return problems


def _documents(args: argparse.Namespace) -> int:
    from gateway.cli import printable
    from gateway.documents import ManifestError, read_manifest

    documents: list[Any] = []
    if args.documents_command == "import":
        try:
            documents = read_manifest(orjson.loads(Path(args.manifest).read_bytes()))
        except (OSError, orjson.JSONDecodeError, ManifestError) as exc:
            print(f"ops-gateway: {args.manifest}: {printable(str(exc))}", file=sys.stderr)
            return 2
        if problems := _validation_errors(documents):
            for line in problems:
                print(printable(line), file=sys.stderr)
            print(f"nothing imported: {len(problems)} problems", file=sys.stderr)
            return 1
    return asyncio.run(_apply(args, documents))


async def _apply(args: argparse.Namespace, documents: list[Any]) -> int:
    from gateway.cli import _store, printable
    from gateway.documents import DocumentRegistry
    from gateway.settings import Settings

    async with _store(Settings.from_env()) as store:
        registry = DocumentRegistry(store=store)
        if args.documents_command == "import":
            source = args.source or Path(args.manifest).name
            added, kept = await registry.import_documents(documents, source=source)
            print(f"imported {added} documents ({kept} already trusted) from {printable(source)}")
        elif args.documents_command == "list":
            for doc in await registry.list():
                at = datetime.fromtimestamp(doc.imported_at, tz=UTC).strftime("%Y-%m-%d %H:%M")
                fields = [doc.id, doc.type or "-", doc.name or "-", doc.source]
                print("\t".join([*map(printable, fields), at]))
        elif args.documents_command == "revoke":
            if not await registry.revoke(args.id):
                print(f"no trusted document {printable(args.id)}", file=sys.stderr)
                return 1
            print(f"revoked {printable(args.id)}")
    return 0


def _manifest(args: argparse.Namespace) -> int:
    from gateway.documents.manifest import ManifestError, operations_manifest

    files: list[Path] = []
    for raw in args.paths:
        path = Path(raw)
        files += sorted(path.glob("*.graphql")) if path.is_dir() else [path]
    try:
        manifest = operations_manifest(files)
    except (OSError, ManifestError) as exc:
        print(f"ops-gateway: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def add_commands(sub: Any) -> None:
    documents = sub.add_parser("documents", help="manage trusted documents (allow-list)")
    dsub = documents.add_subparsers(dest="documents_command", required=True)
    imp = dsub.add_parser(
        "import",
        help="trust the documents of a manifest (Apollo's persisted query manifest or "
        "GraphQL Codegen's persisted-documents.json)",
    )
    imp.add_argument("manifest")
    imp.add_argument("--source", help="a name for where they came from (default: file name)")
    dsub.add_parser("list", help="list trusted documents")
    revoke = dsub.add_parser("revoke", help="stop trusting a document")
    revoke.add_argument("id")
    documents.set_defaults(func=_documents)
    manifest = dsub.add_parser(
        "manifest", help="print Apollo's manifest of the operations in .graphql files"
    )
    manifest.add_argument("paths", nargs="+", help=".graphql files or folders of them")
    manifest.set_defaults(func=_manifest)
