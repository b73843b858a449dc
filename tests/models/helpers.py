"""GraphQL snippets and polling helpers shared by the models tests."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tests.plugins.app import Gateway

JOB = "id state resumable attempts error { code message } progress { bytesDone bytesTotal filesDone filesTotal percent phase commit }"
DOWNLOAD = f"""
mutation($input: DownloadModelInput!) {{
  downloadModel(input: $input) {{
    __typename
    ... on DownloadJob {{ {JOB} }}
    ... on ModelsError {{ field message code }}
  }}
}}"""
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED", "INTERRUPTED")


async def download(gw: Gateway, repo_id: str, **extra: Any) -> dict[str, Any]:
    data = await gw.data(DOWNLOAD, {"input": {"repoId": repo_id, **extra}})
    return data["downloadModel"]


async def job(gw: Gateway, job_id: str) -> dict[str, Any]:
    data = await gw.data(
        f"query($id: ID!) {{ models {{ download(id: $id) {{ {JOB} }} }} }}", {"id": job_id}
    )
    return data["models"]["download"]


async def wait_job(
    gw: Gateway, job_id: str, states: tuple[str, ...] = FINISHED, within: float = 15.0
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        current = await job(gw, job_id)
        if current["state"] in states:
            return current
        assert time.monotonic() < deadline, f"job stuck in {current}"
        await asyncio.sleep(0.03)


async def downloaded(gw: Gateway, repo_id: str, **extra: Any) -> dict[str, Any]:
    started = await download(gw, repo_id, **extra)
    assert started["__typename"] == "DownloadJob", started
    done = await wait_job(gw, started["id"])
    assert done["state"] == "SUCCEEDED", done
    return done


def disk_usage(root: Path) -> int:
    """Bytes of regular files under ``root`` (symlinks not followed, as du counts blobs)."""
    return sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() and not p.is_symlink())
