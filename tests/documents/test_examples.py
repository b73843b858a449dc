"""examples/operations: one document per ops page, valid against schema.graphql, shipped as
a manifest that `documents import` takes, and each page answering on the sandboxes when run
as a trusted document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from gateway.documents import read_manifest
from gateway.documents.manifest import operations_manifest
from gateway.sandbox.suite import SandboxSuite
from gateway.settings import WebSettings
from tests.plugins.app import GatewayFactory

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "operations"
PAGES = ("revenue", "models", "access", "usage", "providers", "traffic", "agents")


def operations() -> list[OperationDefinitionNode]:
    found = []
    for path in sorted(EXAMPLES.glob("*.graphql")):
        found += [
            d for d in parse(path.read_text()).definitions if isinstance(d, OperationDefinitionNode)
        ]
    return found


def test_one_document_per_page_and_a_subscription() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.graphql")} >= set(PAGES)
    kinds = {op.operation.value for op in operations()}
    assert kinds == {"query", "subscription"}


def test_every_example_is_valid_against_the_committed_schema() -> None:
    schema = build_schema((ROOT / "schema.graphql").read_text())
    for path in sorted(EXAMPLES.glob("*.graphql")):
        errors = validate(schema, parse(path.read_text()))
        assert errors == [], f"{path.name}: {[e.message for e in errors]}"


def test_the_committed_manifest_is_generated_from_the_examples() -> None:
    committed = json.loads((EXAMPLES / "manifest.json").read_text())
    assert committed == operations_manifest(EXAMPLES.glob("*.graphql")), (
        "examples/operations/manifest.json is stale: run `make schema`"
    )
    documents = read_manifest(committed)
    assert len(documents) == len(operations())


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxSuite]:
    with SandboxSuite(workdir=tmp_path_factory.mktemp("sandboxes")) as started:
        yield started


async def test_each_page_answers_as_a_trusted_document(
    gateway_factory: GatewayFactory, suite: SandboxSuite
) -> None:
    documents = read_manifest(json.loads((EXAMPLES / "manifest.json").read_text()))
    gw = await gateway_factory(web=WebSettings(documents="trusted"), **suite.overrides)
    await suite.seed(gw.services)
    await gw.services.documents.registry.import_documents(documents, source="examples")
    headers = {"Authorization": f"Bearer {gw.admin_token}"}
    pages = [d for d in documents if d.type == "query"]
    assert len(pages) == len(PAGES)
    for doc in pages:
        response = await gw.client.post("/graphql", json={"documentId": doc.id}, headers=headers)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, (doc.name, body)
        assert all(value is not None for value in body["data"].values()), doc.name
