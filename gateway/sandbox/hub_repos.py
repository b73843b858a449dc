"""The fake Hub's repos and commits, seeded deterministically (see :func:`seed_repos`).

A repo is a list of commits, each a full snapshot of its files; ``main`` is the last one.
Commit ids are sha1 digests of the snapshot, so they are the same on every run.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.sandbox.hub_files import FileSpec, json_file, model_card, text_file, tokenizer

EPOCH = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
GITATTRIBUTES = text_file(".gitattributes", "*.safetensors filter=lfs diff=lfs merge=lfs -text\n")


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    files: dict[str, FileSpec]
    message: str
    at: datetime


@dataclass
class HubRepo:
    id: str
    pipeline_tag: str | None = None
    library: str | None = None
    tags: list[str] = field(default_factory=list)
    license: str = "apache-2.0"
    gated: str | None = None
    private: bool = False
    downloads: int = 0
    likes: int = 0
    created_at: datetime = EPOCH
    config: dict[str, Any] = field(default_factory=dict)
    safetensors: dict[str, int] | None = None
    gguf: dict[str, Any] | None = None
    commits: list[Commit] = field(default_factory=list)

    @property
    def author(self) -> str:
        return self.id.split("/", 1)[0]

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    def commit(self, revision: str | None) -> Commit | None:
        if revision in (None, "", "main"):
            return self.head
        return next((c for c in self.commits if c.sha == revision), None)

    def add_commit(self, files: dict[str, FileSpec], message: str, at: datetime) -> Commit:
        parent = self.commits[-1].sha if self.commits else ""
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update(f"{self.id}\n{parent}\n{message}\n".encode())
        for path in sorted(files):
            digest.update(f"{path}:{files[path].blob_id(self.id)}\n".encode())
        commit = Commit(digest.hexdigest(), dict(files), message, at)
        self.commits.append(commit)
        return commit


class HubState:
    """Every repo, by id; writes take the lock (the sandbox may be driven from a test thread)."""

    def __init__(self, repos: list[HubRepo]) -> None:
        self.repos = {r.id: r for r in repos}
        self.lock = threading.Lock()

    def get(self, repo_id: str) -> HubRepo | None:
        return self.repos.get(repo_id)

    def create(self, repo_id: str, *, private: bool, at: datetime) -> HubRepo:
        with self.lock:
            repo = HubRepo(id=repo_id, private=private, created_at=at, library=None)
            repo.add_commit({GITATTRIBUTES.path: GITATTRIBUTES}, "initial commit", at)
            self.repos[repo_id] = repo
            return repo


def _llama_config(*, quant: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "max_position_embeddings": 2048,
        "torch_dtype": "bfloat16",
        "hidden_size": 2048,
        "num_hidden_layers": 22,
    }
    if quant is not None:
        config["quantization_config"] = quant
    return config


def _repo(repo_id: str, files: list[FileSpec], *, age_days: int, **fields: Any) -> HubRepo:
    created = EPOCH - timedelta(days=age_days)
    repo = HubRepo(id=repo_id, created_at=created, **fields)
    card = model_card(
        license=repo.license,
        pipeline_tag=repo.pipeline_tag,
        tags=repo.tags,
        title=repo_id.split("/")[-1],
    )
    everything = [GITATTRIBUTES, card, *files]
    if repo.config:
        everything.append(json_file("config.json", repo.config))
    repo.add_commit({f.path: f for f in everything}, "Upload model", created + timedelta(hours=1))
    return repo


def seed_repos() -> list[HubRepo]:
    """A dozen realistic repos (one of each weight format, a gated one, a huge one) and a
    long tail of community models for search and paging."""
    llama = _llama_config()
    weights = FileSpec("model.safetensors", 192 * 1024)
    tok = [tokenizer(), json_file("tokenizer_config.json", {"model_max_length": 2048})]
    gen = json_file("generation_config.json", {"max_new_tokens": 256, "temperature": 0.7})
    text = {"pipeline_tag": "text-generation", "library": "transformers"}
    repos = [
        _repo("acme/tiny-llama-1b", [weights, gen, *tok], age_days=200, **text,
              tags=["transformers", "safetensors", "llama", "text-generation", "en"],
              downloads=182_340, likes=1_204, config=llama,
              safetensors={"BF16": 1_100_048_384}),
        _repo("acme/tiny-llama-1b-GGUF", [
            FileSpec("tiny-llama-1b.Q4_K_M.gguf", 48 * 1024),
            FileSpec("tiny-llama-1b.Q5_K_S.gguf", 56 * 1024),
            FileSpec("tiny-llama-1b.Q8_0.gguf", 80 * 1024),
            FileSpec("tiny-llama-1b.F16.gguf", 128 * 1024),
        ], age_days=150, pipeline_tag="text-generation", library="gguf",
            tags=["gguf", "llama", "text-generation", "quantized"], downloads=95_112, likes=640,
            gguf={"total": 1_100_048_384, "architecture": "llama", "context_length": 2048}),
        _repo("acme/tiny-llama-1b-AWQ", [
            FileSpec("model.safetensors", 64 * 1024), *tok,
            json_file("quant_config.json", {"w_bit": 4, "q_group_size": 128, "zero_point": True}),
        ], age_days=140, **text, tags=["transformers", "safetensors", "awq", "4-bit"],
            downloads=40_870, likes=212,
            config=_llama_config(quant={"quant_method": "awq", "bits": 4, "group_size": 128})),
        _repo("acme/tiny-llama-1b-GPTQ", [
            FileSpec("model.safetensors", 64 * 1024), *tok,
            json_file("quantize_config.json", {"bits": 4, "group_size": 128, "desc_act": False}),
        ], age_days=139, **text, tags=["transformers", "safetensors", "gptq", "4-bit"],
            downloads=38_410, likes=190,
            config=_llama_config(quant={"quant_method": "gptq", "bits": 4, "group_size": 128})),
        _repo("acme/tiny-llama-1b-FP8", [FileSpec("model.safetensors", 96 * 1024), *tok],
              age_days=60, **text, tags=["transformers", "safetensors", "fp8"],
              downloads=12_003, likes=88, config=_llama_config(quant={"quant_method": "fp8"}),
              safetensors={"F8_E4M3": 1_100_048_384}),
        _repo("mlx-community/tiny-llama-1b-4bit", [FileSpec("model.safetensors", 40 * 1024)],
              age_days=90, pipeline_tag="text-generation", library="mlx",
              tags=["mlx", "4-bit", "llama"], downloads=9_870, likes=45),
        _repo("acme/mini-bert", [
            FileSpec("model.safetensors", 32 * 1024), FileSpec("pytorch_model.bin", 32 * 1024),
            json_file("vocab.json", {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2}),
        ], age_days=400, pipeline_tag="fill-mask", library="transformers", license="mit",
            tags=["transformers", "bert", "fill-mask", "en"], downloads=1_203_554, likes=2_311,
            config={"architectures": ["BertForMaskedLM"], "model_type": "bert",
                    "max_position_embeddings": 512}, safetensors={"F32": 4_385_920}),
        _repo("acme/whisper-micro", [
            FileSpec("model.safetensors", 48 * 1024),
            FileSpec("onnx/encoder_model.onnx", 24 * 1024),
            FileSpec("onnx/decoder_model.onnx", 24 * 1024),
        ], age_days=300, pipeline_tag="automatic-speech-recognition", library="transformers",
            tags=["transformers", "onnx", "whisper", "audio"], downloads=410_220, likes=820,
            config={"architectures": ["WhisperForConditionalGeneration"],
                    "model_type": "whisper"}, safetensors={"F32": 37_760_640}),
        _repo("acme/sd-nano", [
            json_file("model_index.json", {"_class_name": "StableDiffusionPipeline"}),
            FileSpec("unet/diffusion_pytorch_model.safetensors", 64 * 1024),
            FileSpec("vae/diffusion_pytorch_model.safetensors", 32 * 1024),
            json_file("unet/config.json", {"sample_size": 64}),
        ], age_days=250, pipeline_tag="text-to-image", library="diffusers",
            license="openrail", tags=["diffusers", "stable-diffusion", "text-to-image"],
            downloads=77_000, likes=530),
        _repo("acme/embed-small", [FileSpec("model.safetensors", 24 * 1024), *tok],
              age_days=120, pipeline_tag="sentence-similarity",
              library="sentence-transformers",
              tags=["sentence-transformers", "feature-extraction", "en"],
              downloads=650_400, likes=1_010, safetensors={"F32": 22_713_216}),
        _repo("gated-org/llama-gated-7b", [FileSpec("model.safetensors", 64 * 1024), *tok],
              age_days=30, **text, gated="manual", license="llama3",
              tags=["transformers", "safetensors", "llama", "text-generation"],
              downloads=530_700, likes=4_400, config=llama, safetensors={"BF16": 6_738_415_616}),
        _repo("acme/giant-405b", [
            FileSpec("model-00001-of-00002.safetensors", 25 * 2**40, servable=False),
            FileSpec("model-00002-of-00002.safetensors", 25 * 2**40, servable=False),
        ], age_days=10, **text, tags=["transformers", "safetensors", "llama"],
            downloads=22_000, likes=1_900, config=llama,
            safetensors={"BF16": 405_000_000_000}),
    ]  # fmt: skip
    tasks = ("text-generation", "text-classification", "translation", "summarization")
    for i in range(36):
        task = tasks[i % len(tasks)]
        repos.append(
            _repo(
                f"community/model-{i:02d}",
                [FileSpec("model.safetensors", 4 * 1024 + 97 * i)],
                age_days=5 + 7 * i,
                pipeline_tag=task,
                library="transformers",
                tags=["transformers", "safetensors", task],
                downloads=(i * 7919) % 50_000,
                likes=(i * 104_729) % 700,
                license="mit" if i % 3 else "apache-2.0",
            )
        )
    return repos
