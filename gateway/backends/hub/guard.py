"""Refuse Hub answers that would name paths outside the cache.

``hf_hub_download`` builds cache paths from three response headers it trusts as they come:
the blob file is ``blobs/<ETag or X-Linked-Etag>``, the snapshot and the "file does not
exist" marker are under ``snapshots/<X-Repo-Commit>`` and ``.no_exist/<X-Repo-Commit>``. A
hostile or broken ``HF_ENDPOINT`` (a mirror, a proxy) answering ``ETag: "../../../x"`` would
make the download write anywhere the process may write. The real Hub sends hex digests
there, so a response hook on huggingface_hub's shared HTTP client refuses any answer that
claims to be the Hub's (it carries one of those headers) where a value is not a single safe
file name, or the commit is not 40 hex digits. The download then fails with
:class:`UnsafeHubAnswer`, before the library looks at the headers.
"""

from __future__ import annotations

import re
import threading

import httpx2
from huggingface_hub import set_client_factory
from huggingface_hub.utils._http import default_client_factory

COMMIT = re.compile(r"^[0-9a-f]{40}$")
ETAG_HEADERS = ("etag", "x-linked-etag")
COMMIT_HEADER = "x-repo-commit"
MAX_ETAG = 255

_installed = False
_lock = threading.Lock()


class UnsafeHubAnswer(ValueError):
    """A Hub answer named a path where a digest belongs."""


def normalised_etag(value: str) -> str:
    """The blob name huggingface_hub makes of an ETag header (``_normalize_etag``)."""
    return value.lstrip("W/").strip('"')


def safe_blob_name(name: str) -> bool:
    return (
        0 < len(name) <= MAX_ETAG
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and name.isprintable()
    )


def check_response(response: httpx2.Response) -> None:
    """Raise :class:`UnsafeHubAnswer` if a Hub answer names anything but a safe file name."""
    headers = response.headers
    commit = headers.get(COMMIT_HEADER)
    hub_answer = commit is not None or "x-linked-etag" in headers
    if not hub_answer:
        return  # a CDN's answer (its ETag never becomes a path) or an API call
    if commit is not None and not COMMIT.fullmatch(commit):
        raise UnsafeHubAnswer(f"the Hub answered with an invalid commit id {commit[:80]!r}")
    for name in ETAG_HEADERS:
        value = headers.get(name)
        if value is not None and not safe_blob_name(normalised_etag(value)):
            raise UnsafeHubAnswer(f"the Hub answered with an unsafe {name} {value[:80]!r}")


def _guarded_client() -> httpx2.Client:
    client = default_client_factory()
    client.event_hooks["response"] = [*client.event_hooks["response"], check_response]
    return client


def install() -> None:
    """Make huggingface_hub's shared client check every answer (once per process)."""
    global _installed
    with _lock:
        if not _installed:
            set_client_factory(_guarded_client)
            _installed = True
