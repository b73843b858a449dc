"""Hub queries through the real huggingface_hub client against the sandbox Hub."""

from __future__ import annotations

import pytest

from tests.models.conftest import Hub, ModelsGateway
from tests.plugins.app import Gateway


async def test_search_by_downloads_with_quantizations(gw: Gateway, hub: Hub) -> None:
    body = await gw.gql(
        '{ models { search(query: "tiny-llama", limit: 4) '
        "{ id task library downloads gated quantizations { format variant } } } }"
    )
    found = body["data"]["models"]["search"]
    ids = [m["id"] for m in found]
    assert ids == [
        "acme/tiny-llama-1b",
        "acme/tiny-llama-1b-GGUF",
        "acme/tiny-llama-1b-AWQ",
        "acme/tiny-llama-1b-GPTQ",
    ]
    downloads = [m["downloads"] for m in found]
    assert downloads == sorted(downloads, reverse=True)
    formats = {m["id"]: {(q["format"], q["variant"]) for q in m["quantizations"]} for m in found}
    assert formats["acme/tiny-llama-1b"] == {("SAFETENSORS", "BF16")}
    assert ("GGUF", "Q4_K_M") in formats["acme/tiny-llama-1b-GGUF"]
    assert formats["acme/tiny-llama-1b-AWQ"] == {("AWQ", "4bit")}
    assert formats["acme/tiny-llama-1b-GPTQ"] == {("GPTQ", "4bit")}
    assert hub.count("GET /api/models") == 1


async def test_search_filters_and_follows_pages(gw: Gateway, hub: Hub) -> None:
    hub.sandbox.page_size = 5  # 9 results need two pages, linked by Link: rel="next"
    body = await gw.gql(
        '{ models { search(task: "text-generation", author: "community", sort: LIKES, limit: 9) '
        "{ id task likes } } }"
    )
    found = body["data"]["models"]["search"]
    assert len(found) == 9
    assert {m["task"] for m in found} == {"text-generation"}
    assert all(m["id"].startswith("community/") for m in found)
    assert [m["likes"] for m in found] == sorted((m["likes"] for m in found), reverse=True)
    assert hub.count("GET /api/models") == 2


async def test_model_details_files_sizes_and_formats(gw: Gateway, hub: Hub) -> None:
    body = await gw.gql(
        '{ models { model(id: "acme/tiny-llama-1b-GGUF") { id sha size license gated '
        "contextLength parameters files { path size lfs } "
        "quantizations { format variant bits files size } } } }"
    )
    model = body["data"]["models"]["model"]
    repo = hub.sandbox.state.get("acme/tiny-llama-1b-GGUF")
    assert repo is not None
    assert model["sha"] == repo.head.sha
    assert {f["path"]: f["size"] for f in model["files"]} == hub.files(repo.id)
    assert model["size"] == sum(hub.files(repo.id).values())
    assert model["license"] == "apache-2.0"
    assert model["gated"] is False
    assert model["contextLength"] == 2048
    assert model["parameters"] == 1_100_048_384
    gguf = [(q["variant"], q["bits"], q["size"]) for q in model["quantizations"]]
    assert gguf == [
        ("F16", 16.0, 128 * 1024),
        ("Q8_0", 8.5, 80 * 1024),
        ("Q5_K_S", 5.54, 56 * 1024),
        ("Q4_K_M", 4.85, 48 * 1024),
    ]
    assert model["quantizations"][-1]["files"] == ["tiny-llama-1b.Q4_K_M.gguf"]


@pytest.mark.parametrize(
    ("repo", "expected"),
    [
        ("acme/tiny-llama-1b-FP8", {("FP8", "FP8")}),
        ("mlx-community/tiny-llama-1b-4bit", {("MLX", "4bit")}),
        ("acme/whisper-micro", {("SAFETENSORS", "F32"), ("ONNX", None)}),
        ("gated-org/llama-gated-7b", {("SAFETENSORS", "BF16")}),
    ],
)
async def test_quantization_detection(gw: Gateway, repo: str, expected: set) -> None:
    body = await gw.gql(
        "query($id: String!) { models { model(id: $id) { gated gatedMode "
        "quantizations { format variant } } } }",
        {"id": repo},
    )
    model = body["data"]["models"]["model"]
    assert {(q["format"], q["variant"]) for q in model["quantizations"]} == expected
    assert model["gated"] is (repo == "gated-org/llama-gated-7b")
    assert model["gatedMode"] == ("manual" if model["gated"] else None)


async def test_unknown_repo_is_not_found(gw: Gateway) -> None:
    body = await gw.gql(
        '{ models { model(id: "acme/no-such-model") { id } quantizations { format } } }'
    )
    assert body["data"]["models"]["model"] is None
    assert body["data"]["models"]["quantizations"]  # the rest of the query still answers
    [error] = body["errors"]
    assert error["path"] == ["models", "model"]
    assert error["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "bad", ["../../etc", "acme/../../etc", "a--b/c", "org/name/extra", "org/", "/etc/passwd", ""]
)
async def test_bad_ids_are_bad_user_input_and_never_reach_the_hub(
    gw: Gateway, hub: Hub, bad: str
) -> None:
    body = await gw.gql(
        "query($id: String!) { models { model(id: $id) { id } settings(modelId: $id) { version } } }",
        {"id": bad},
    )
    codes = {tuple(e["path"]): e["extensions"]["code"] for e in body["errors"]}
    assert codes == {
        ("models", "model"): "BAD_USER_INPUT",
        ("models", "settings"): "BAD_USER_INPUT",
    }
    assert hub.sandbox.total == 0


async def test_hub_down_fails_only_hub_fields(
    models_gateway: ModelsGateway, refused_url: str
) -> None:
    gw = await models_gateway(hf_endpoint=refused_url)
    body = await gw.gql(
        '{ models { model(id: "acme/tiny-llama-1b") { id } categories { id } '
        "local { id } hub { endpoint } quantizations { format } } me { subject } }"
    )
    data = body["data"]
    assert data["me"]["subject"] == "admin"
    assert data["models"]["local"] == []
    assert data["models"]["hub"]["endpoint"] == refused_url
    assert data["models"]["model"] is None and data["models"]["categories"] is None
    codes = {e["path"][-1]: e["extensions"] for e in body["errors"]}
    assert codes["model"]["code"] == "BACKEND_UNAVAILABLE"
    assert codes["categories"]["code"] == "BACKEND_UNAVAILABLE"
    assert codes["model"]["backend"] == "hub"


async def test_hub_errors_map_to_backend_codes(gw: Gateway, hub: Hub) -> None:
    hub.sandbox.fail("/api/models/acme/*", status=503)
    hub.sandbox.fail("/api/models-tags-by-type", status=500, body="boom")
    body = await gw.gql('{ models { model(id: "acme/tiny-llama-1b") { id } categories { id } } }')
    codes = {e["path"][-1]: e["extensions"]["code"] for e in body["errors"]}
    assert codes == {"model": "BACKEND_UNAVAILABLE", "categories": "BACKEND_ERROR"}


async def test_categories_popular_and_catalogue(gw: Gateway) -> None:
    body = await gw.gql(
        '{ models { categories(kind: "pipeline_tag") { id label kind group } '
        'popular(task: "text-generation", limit: 3) { id downloads } '
        "quantizations { format variants bits } } }"
    )
    models = body["data"]["models"]
    tasks = {c["id"]: c for c in models["categories"]}
    assert tasks["text-generation"]["label"] == "Text Generation"
    assert tasks["automatic-speech-recognition"]["group"] == "audio"
    assert [m["id"] for m in models["popular"]] == [
        "gated-org/llama-gated-7b",
        "acme/tiny-llama-1b",
        "acme/tiny-llama-1b-GGUF",
    ]
    catalogue = {q["format"]: q for q in models["quantizations"]}
    assert {"GGUF", "AWQ", "GPTQ", "FP8", "SAFETENSORS"} <= set(catalogue)
    assert "Q4_K_M" in catalogue["GGUF"]["variants"]


async def test_search_limits_are_validated(gw: Gateway, hub: Hub) -> None:
    body = await gw.gql('{ models { search(limit: 1000) { id } popular(task: "x y") { id } } }')
    assert {e["path"][-1]: e["extensions"]["code"] for e in body["errors"]} == {
        "search": "BAD_USER_INPUT",
        "popular": "BAD_USER_INPUT",
    }
    assert hub.sandbox.total == 0


async def test_viewer_reads_models_but_anonymous_cannot(gw: Gateway) -> None:
    viewer = await gw.token("viewer")
    body = await gw.gql("{ models { quantizations { format } } }", token=viewer)
    assert body["data"]["models"]["quantizations"]
    response = await gw.post("{ models { quantizations { format } } }", token=None)
    assert response.status_code == 401
