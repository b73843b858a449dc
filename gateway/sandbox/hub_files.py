"""Files of the fake Hub: small, generated deterministically, shaped like the real thing.

A file is a :class:`FileSpec`: explicit bytes (JSON configs, uploads) or ``size`` bytes
generated from the repo id and path (``shake_256``), so every run serves identical content
without storing it. Weight files get a real header (``GGUF`` magic, a safetensors JSON
header) so tools peeking at them see the right format. A file may declare a size it never
serves (``servable=False``): a huge model whose only purpose is the disk-space check.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".onnx", ".pt", ".pth", ".msgpack", ".h5")
LFS_MIN_SIZE = 10 * 1024  # the Hub stores big files in LFS; so do we, for the headers


@dataclass(frozen=True, slots=True)
class FileSpec:
    path: str
    size: int
    content: bytes | None = field(default=None, repr=False)
    servable: bool = True

    @classmethod
    def of(cls, path: str, content: bytes) -> FileSpec:
        return cls(path=path, size=len(content), content=content)

    @property
    def lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES) or self.size >= LFS_MIN_SIZE

    def data(self, repo_id: str) -> bytes:
        if self.content is not None:
            return self.content
        if not self.servable:
            raise ValueError(f"{self.path} is declared only, never served")
        return _generated(repo_id, self.path, self.size)

    def blob_id(self, repo_id: str) -> str:
        """Git's blob id (sha1 of ``blob <size>\\0<bytes>``); for LFS files, of the pointer."""
        if self.lfs:
            pointer = (
                "version https://git-lfs.github.com/spec/v1\n"
                f"oid sha256:{self.sha256(repo_id)}\nsize {self.size}\n"
            ).encode()
            return _git_blob(pointer)
        return _git_blob(self.data(repo_id))

    def sha256(self, repo_id: str) -> str:
        if not self.servable:  # never served, so any stable digest will do
            return hashlib.sha256(f"{repo_id}/{self.path}:{self.size}".encode()).hexdigest()
        return hashlib.sha256(self.data(repo_id)).hexdigest()

    def etag(self, repo_id: str) -> str:
        return self.sha256(repo_id) if self.lfs else self.blob_id(repo_id)


def _git_blob(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@lru_cache(maxsize=512)
def _generated(repo_id: str, path: str, size: int) -> bytes:
    body = hashlib.shake_256(f"{repo_id}/{path}".encode()).digest(size)
    header = _header(path, size)
    return (header + body)[:size]


def _header(path: str, size: int) -> bytes:
    if path.endswith(".gguf"):
        # GGUF magic, version 3, then tensor and metadata counts.
        return b"GGUF" + struct.pack("<IQQ", 3, 1, 2)
    if path.endswith(".safetensors"):
        meta = {"__metadata__": {"format": "pt"}}
        body = json.dumps(
            meta | {"weight": {"dtype": "BF16", "shape": [0], "data_offsets": [0, 0]}}
        )
        raw = body.encode()
        return struct.pack("<Q", len(raw)) + raw
    return b""


def json_file(path: str, value: Any) -> FileSpec:
    return FileSpec.of(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def text_file(path: str, text: str) -> FileSpec:
    return FileSpec.of(path, text.encode())


def tokenizer(vocab: int = 300) -> FileSpec:
    words = {f"tok{i:04d}": i for i in range(vocab)}
    return json_file("tokenizer.json", {"version": "1.0", "model": {"type": "BPE", "vocab": words}})


def model_card(*, license: str, pipeline_tag: str | None, tags: list[str], title: str) -> FileSpec:
    front = [f"license: {license}"]
    if pipeline_tag:
        front.append(f"pipeline_tag: {pipeline_tag}")
    if tags:
        front.append("tags:\n" + "\n".join(f"- {t}" for t in tags))
    body = f"---\n{chr(10).join(front)}\n---\n\n# {title}\n\nA sandbox model (generated files).\n"
    return text_file("README.md", body)
