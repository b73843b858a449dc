"""What the gateway keeps of the Hub's answers: plain frozen records, no library objects.

Built from huggingface_hub's own parsed objects (``ModelInfo``), so the Hub's JSON is read by
the library that knows it best; resolvers only ever see these records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from huggingface_hub.hf_api import ModelInfo

from gateway.backends.hub.quantization import Detected, detect


@dataclass(frozen=True, slots=True)
class HubFile:
    path: str
    size: int | None
    blob_id: str | None = None
    lfs: bool = False


@dataclass(frozen=True, slots=True)
class HubModel:
    id: str
    author: str | None
    sha: str | None
    private: bool
    gated: str | None
    """``"auto"`` or ``"manual"`` when access must be requested, else None."""
    disabled: bool
    downloads: int
    likes: int
    library: str | None
    pipeline_tag: str | None
    tags: tuple[str, ...]
    license: str | None
    created_at: datetime | None
    last_modified: datetime | None
    files: tuple[HubFile, ...] | None
    """None when the Hub was not asked for files (search results without ``full``)."""
    parameters: int | None = None
    context_length: int | None = None
    dtypes: dict[str, int] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def total_size(self) -> int | None:
        if self.files is None or any(f.size is None for f in self.files):
            return None
        return sum(f.size or 0 for f in self.files)

    def quantizations(self) -> list[Detected]:
        return detect(
            repo_id=self.id,
            files=[(f.path, f.size) for f in self.files or ()],
            tags=self.tags,
            config=self.config,
            library=self.library,
            dtypes=self.dtypes,
        )

    @classmethod
    def from_info(cls, info: ModelInfo) -> HubModel:
        files = None
        if info.siblings is not None:
            files = tuple(
                HubFile(
                    path=s.rfilename,
                    size=s.lfs.size if s.lfs is not None else s.size,
                    blob_id=s.blob_id,
                    lfs=s.lfs is not None,
                )
                for s in info.siblings
            )
        tags = tuple(info.tags or ())
        gguf = info.gguf if isinstance(info.gguf, dict) else {}
        config = info.config if isinstance(info.config, dict) else {}
        safetensors = info.safetensors
        parameters = safetensors.total if safetensors else gguf.get("total")
        context = gguf.get("context_length") or config.get("max_position_embeddings")
        return cls(
            id=info.id,
            author=info.author or (info.id.split("/", 1)[0] if "/" in info.id else None),
            sha=info.sha,
            private=bool(info.private),
            gated=info.gated if isinstance(info.gated, str) and info.gated else None,
            disabled=bool(info.disabled),
            downloads=int(info.downloads or 0),
            likes=int(info.likes or 0),
            library=info.library_name,
            pipeline_tag=info.pipeline_tag,
            tags=tags,
            license=_license(info, tags),
            created_at=info.created_at,
            last_modified=info.last_modified,
            files=files,
            parameters=int(parameters) if isinstance(parameters, int) else None,
            context_length=int(context) if isinstance(context, int) else None,
            dtypes=dict(safetensors.parameters) if safetensors else {},
            config=config,
        )


def _license(info: ModelInfo, tags: tuple[str, ...]) -> str | None:
    card = info.card_data
    value = card.get("license") if card is not None else None
    if isinstance(value, str) and value:
        return value
    return next((t.removeprefix("license:") for t in tags if t.startswith("license:")), None)


@dataclass(frozen=True, slots=True)
class HubSearch:
    """A model search as the Hub's ``/api/models`` takes it; a term left out filters nothing."""

    query: str | None = None
    task: str | None = None
    library: str | None = None
    author: str | None = None
    sort: str = "downloads"
    limit: int = 20


@dataclass(frozen=True, slots=True)
class HubCategory:
    id: str
    label: str
    kind: str
    """``pipeline_tag`` (a task), ``library``, ``license``, ``language``..."""
    group: str | None = None
