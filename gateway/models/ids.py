"""Input safety for the models domain: nothing a caller sends may name a path outside the
cache (or the upload folder).

Repo ids become directory names (``models--org--name``) and revisions become file names
(``refs/<revision>``) inside the Hugging Face cache, so both are checked against strict
patterns before they reach huggingface_hub: ``org/name`` of ``[A-Za-z0-9._-]``, no ``--`` or
``..``; a revision is a branch, tag or commit without ``..``, empty or absolute segments.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from gateway.errors import BadUserInput

_PART = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?"
REPO_ID = re.compile(rf"^{_PART}/{_PART}$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
COMMIT = re.compile(r"^[0-9a-f]{40}$")
MAX_PATTERNS = 50
MAX_FOLDER = 1024
"""Characters of an upload folder name (relative to the upload root)."""
MAX_REPO_PATH = 1024
"""Characters of a file path in a repo, as the Hub lists it."""
MAX_NAME = 255
"""Bytes of one path segment: what Linux file systems allow."""


def repo_id(value: str, *, field: str = "id") -> str:
    value = value.strip()
    if (
        not REPO_ID.fullmatch(value)
        or "--" in value
        or ".." in value
        or value.endswith(".git")
        or len(value) > 96
    ):
        raise BadUserInput(
            f"invalid model id {value[:100]!r}: expected 'org/name' with letters, digits, "
            "'-', '_' or '.'",
            field=field,
        )
    return value


def revision(value: str | None, *, field: str = "revision") -> str | None:
    if value is None or value.strip() == "":
        return None
    value = value.strip()
    parts = value.split("/")
    if not REVISION.fullmatch(value) or any(p in ("", ".", "..") for p in parts):
        raise BadUserInput(f"invalid revision {value[:100]!r}", field=field)
    return value


def repo_path(value: str) -> bool:
    """Whether a file path the Hub lists is safe to join under a snapshot folder: relative,
    ``/``-separated, no ``..``, ``.`` or empty segment, no backslash or control character."""
    return (
        0 < len(value) <= MAX_REPO_PATH
        and value.isprintable()
        and "\\" not in value
        and not value.startswith("/")
        and all(part not in ("", ".", "..") for part in value.split("/"))
    )


def patterns(values: list[str] | None, *, field: str) -> list[str] | None:
    """Glob patterns matched against file names in the repo (never used as paths)."""
    if not values:
        return None
    if len(values) > MAX_PATTERNS:
        raise BadUserInput(f"at most {MAX_PATTERNS} patterns", field=field)
    cleaned = []
    for value in values:
        if not value or len(value) > 200 or not value.isprintable():
            raise BadUserInput(f"invalid pattern {value[:50]!r}", field=field)
        cleaned.append(value)
    return cleaned


def inside(root: Path, relative: str, *, field: str) -> Path:
    """``root / relative``, refusing absolute paths, ``..``, backslashes, control characters,
    over-long names and symlinks that leave ``root``."""
    text = relative.strip()
    rel = PurePosixPath(text)
    if (
        not text
        or len(text) > MAX_FOLDER
        or not text.isprintable()
        or "\\" in text
        or rel.is_absolute()
        or ".." in rel.parts
        or any(len(part.encode()) > MAX_NAME for part in rel.parts)
    ):
        raise BadUserInput(f"invalid folder {text[:100]!r}: a path inside {root}", field=field)
    try:
        resolved_root = root.resolve()
        target = (resolved_root / rel).resolve()
    except (OSError, ValueError):  # a symlink loop, a name the OS refuses
        raise BadUserInput(f"invalid folder {text[:100]!r}", field=field) from None
    if target != resolved_root and resolved_root not in target.parents:
        raise BadUserInput(f"folder {text[:100]!r} leaves {root}", field=field)
    return target
