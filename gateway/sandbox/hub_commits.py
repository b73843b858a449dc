"""Writing to the fake Hub: the preupload answer and ndjson commits.

The sandbox has no LFS or Xet storage, so preupload tells the client to send every file
inline ("regular", base64 in the commit), which huggingface_hub supports for any size.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any

from gateway.sandbox.hub_files import FileSpec
from gateway.sandbox.hub_repos import HubRepo


def safe_path(path: Any) -> bool:
    if not isinstance(path, str) or not path or len(path) > 1000:
        return False
    parts = path.split("/")
    return (
        not path.startswith("/")
        and "\\" not in path
        and all(p not in ("", ".", "..") for p in parts)
    )


def preupload(repo: HubRepo, body: dict[str, Any]) -> dict[str, Any]:
    files = body.get("files") if isinstance(body.get("files"), list) else []
    head = repo.head.files
    answer = []
    for item in files:
        path = item.get("path") if isinstance(item, dict) else None
        if not safe_path(path):
            continue
        existing = head.get(path)
        answer.append(
            {
                "path": path,
                "uploadMode": "regular",
                "shouldIgnore": False,
                "oid": existing.blob_id(repo.id) if existing is not None else None,
            }
        )
    return {"files": answer, "commitOid": repo.head.sha}


def apply_commit(repo: HubRepo, body: bytes, *, base_url: str) -> dict[str, Any] | str:
    """Apply one ndjson commit to ``repo``; return the Hub's answer, or an error message."""
    files = dict(repo.head.files)
    summary = "Upload files"
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            key, value = item["key"], item["value"]
        except (ValueError, KeyError, TypeError):
            return "malformed commit payload"
        if key == "header":
            summary = str(value.get("summary") or summary)
            parent = value.get("parentCommit")
            if parent and parent != repo.head.sha:
                return "parent commit is not the head of the branch"
            continue
        path = value.get("path") if isinstance(value, dict) else None
        if not safe_path(path):
            return f"invalid path in commit: {path!r}"
        if key == "file":
            try:
                files[path] = FileSpec.of(path, base64.b64decode(value.get("content", "")))
            except (binascii.Error, ValueError):
                return f"{path}: content is not base64"
        elif key == "deletedFile":
            files.pop(path, None)
        elif key == "deletedFolder":
            files = {p: f for p, f in files.items() if not p.startswith(path.rstrip("/") + "/")}
        else:  # lfsFile, copies: the sandbox never asks for them
            return f"unsupported commit operation {key!r}"
    commit = repo.add_commit(files, summary, datetime.now(UTC))
    return {
        "success": True,
        "commitOid": commit.sha,
        "commitUrl": f"{base_url}/{repo.id}/commit/{commit.sha}",
        "commitMessage": summary,
        "hookOutput": "",
        "pullRequestUrl": None,
    }
