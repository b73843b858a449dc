"""The fake Hub's JSON: model lists (with cursor paging), model info, trees and tag catalogues,
in the shapes and field names the real Hub uses."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from gateway.sandbox.hub_repos import Commit, HubRepo, HubState

_SORTS = {
    "downloads": lambda r: r.downloads,
    "likes": lambda r: r.likes,
    "createdAt": lambda r: r.created_at,
    "lastModified": lambda r: r.head.at,
    "trendingScore": lambda r: _trending(r),
    "id": lambda r: r.id.lower(),
}
_LABELS = {
    "text-generation": ("Text Generation", "nlp"),
    "text-classification": ("Text Classification", "nlp"),
    "fill-mask": ("Fill-Mask", "nlp"),
    "translation": ("Translation", "nlp"),
    "summarization": ("Summarization", "nlp"),
    "sentence-similarity": ("Sentence Similarity", "nlp"),
    "automatic-speech-recognition": ("Automatic Speech Recognition", "audio"),
    "text-to-image": ("Text-to-Image", "multimodal"),
}


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _trending(repo: HubRepo) -> int:
    return (repo.likes * 31 + repo.downloads // 1000) % 997


def _matches(repo: HubRepo, q: Mapping[str, Any], filters: list[str]) -> bool:
    search = (q.get("search") or "").lower()
    if search and search not in repo.id.lower():
        return False
    if q.get("author") and repo.author != q["author"]:
        return False
    if q.get("pipeline_tag") and repo.pipeline_tag != q["pipeline_tag"]:
        return False
    labels = {*repo.tags, repo.library, repo.pipeline_tag, f"license:{repo.license}"}
    if any(f not in labels for f in filters):
        return False
    gated = q.get("gated")
    return gated is None or (gated.lower() == "true") == bool(repo.gated)


def listing(
    state: HubState,
    query: Any,
    base_url: str,
    page_size: int,
    user: tuple[str, str] | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ``GET /api/models`` and the URL of the next, if any."""
    filters = query.getlist("filter")
    visible = [
        r
        for r in state.repos.values()
        if (not r.private or (user is not None and user[1] == "write"))
        and _matches(r, query, filters)
    ]
    key = _SORTS.get(query.get("sort") or "", _SORTS["id"])
    descending = query.get("direction", "-1") != "1" and query.get("sort") is not None
    visible.sort(key=lambda r: (key(r), r.id), reverse=descending)
    try:
        limit = max(1, min(int(query.get("limit") or page_size), 1000))
    except ValueError:
        limit = page_size
    size = min(limit, page_size)
    offset = _offset(query.get("cursor"))
    page = visible[offset : offset + size]
    full = query.get("full", "").lower() in ("1", "true")
    with_config = query.get("config", "").lower() in ("1", "true")
    items = [model_json(r, r.head, full=full, blobs=False, config=with_config) for r in page]
    next_url = None
    if offset + size < len(visible) and len(page) == size:
        params = [(k, v) for k, v in query.multi_items() if k != "cursor"]
        params.append(("cursor", _cursor(offset + size)))
        next_url = f"{base_url}?{urlencode(params)}"
    return items, next_url


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":")[1]))
    except (ValueError, IndexError):
        return 0


def model_json(
    repo: HubRepo, commit: Commit, *, full: bool, blobs: bool, config: bool = True
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "_id": repo.id.replace("/", "-"),
        "id": repo.id,
        "modelId": repo.id,
        "likes": repo.likes,
        "trendingScore": _trending(repo),
        "private": repo.private,
        "downloads": repo.downloads,
        "tags": [*repo.tags, f"license:{repo.license}"],
        "pipeline_tag": repo.pipeline_tag,
        "library_name": repo.library,
        "createdAt": iso(repo.created_at),
    }
    if not full:
        return data
    data |= {
        "author": repo.author,
        "sha": commit.sha,
        "lastModified": iso(commit.at),
        "gated": repo.gated or False,
        "disabled": False,
        "siblings": [_sibling(repo, commit, path, blobs) for path in sorted(commit.files)],
        "spaces": [],
        "cardData": {"license": repo.license, "tags": list(repo.tags)},
    }
    if config and repo.config:
        data["config"] = repo.config
    if repo.safetensors:
        data["safetensors"] = {
            "parameters": repo.safetensors,
            "total": max(repo.safetensors.values()),
        }
    if repo.gguf:
        data["gguf"] = repo.gguf
    if blobs:
        data["usedStorage"] = sum(f.size for f in commit.files.values())
    return data


def _sibling(repo: HubRepo, commit: Commit, path: str, blobs: bool) -> dict[str, Any]:
    spec = commit.files[path]
    item: dict[str, Any] = {"rfilename": path}
    if blobs:
        item |= {"size": spec.size, "blobId": spec.blob_id(repo.id)}
        if spec.lfs:
            item["lfs"] = {"sha256": spec.sha256(repo.id), "size": spec.size, "pointerSize": 134}
    return item


def tree_json(
    repo: HubRepo, commit: Commit, *, prefix: str, recursive: bool
) -> list[dict[str, Any]] | None:
    """Entries under ``prefix`` (files, and folders unless recursive lists them all)."""
    paths = sorted(commit.files)
    if prefix and prefix not in commit.files and not any(p.startswith(prefix + "/") for p in paths):
        return None
    entries: list[dict[str, Any]] = []
    folders: set[str] = set()
    for path in paths:
        if prefix and not path.startswith(prefix + "/"):
            continue
        rest = path[len(prefix) + 1 :] if prefix else path
        if "/" in rest and not recursive:
            folders.add((f"{prefix}/" if prefix else "") + rest.split("/", 1)[0])
            continue
        spec = commit.files[path]
        entry: dict[str, Any] = {
            "type": "file",
            "oid": spec.blob_id(repo.id),
            "size": spec.size,
            "path": path,
        }
        if spec.lfs:
            entry["lfs"] = {"oid": spec.sha256(repo.id), "size": spec.size, "pointerSize": 134}
        entries.append(entry)
    dirs = [{"type": "directory", "oid": "0" * 40, "size": 0, "path": f} for f in sorted(folders)]
    return dirs + entries


def tags_by_type(state: HubState) -> dict[str, list[dict[str, Any]]]:
    tasks = sorted({r.pipeline_tag for r in state.repos.values() if r.pipeline_tag})
    libraries = sorted({r.library for r in state.repos.values() if r.library})
    licenses = sorted({r.license for r in state.repos.values()})
    return {
        "pipeline_tag": [
            {
                "id": t,
                "label": _LABELS.get(t, (t, None))[0],
                "type": "pipeline_tag",
                "subType": _LABELS.get(t, (t, "other"))[1],
            }
            for t in tasks
        ],
        "library": [{"id": lib, "label": lib, "type": "library"} for lib in libraries],
        "license": [{"id": lic, "label": lic, "type": "license"} for lic in licenses],
    }
