"""bench/RELIABILITY.md: one section per harness (``make chaos``, ``make fuzz``, ``make soak``),
each rewritten by its own run and the others left as they are."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

PATH = Path(__file__).resolve().parent / "RELIABILITY.md"
HEADER = """# Reliability

What the harnesses found, written by their runs (`make chaos`, `make fuzz`, `make soak`,
`make hostile`); each run rewrites its own section and leaves the others. A short version of
each harness runs in `make test`, so CI keeps these properties true between full runs.
"""


def write_section(title: str, markdown: str, *, path: Path = PATH) -> None:
    """Replace the ``## title`` section of ``path`` (or append it), keeping the others."""
    text = path.read_text() if path.exists() else HEADER
    section = f"## {title}\n\n{stamp()}\n\n{markdown.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text.rstrip() + "\n")
    tmp.replace(path)


def stamp() -> str:
    """When and at which commit a section was written: the sections are written by separate
    runs, so each says which code its figures describe."""
    day = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
        except OSError:
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return f"_Written {day}._"
    # The reports themselves (this file, RESULTS.md) are not code: their changes don't count.
    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/*.md")
    dirty = " (with uncommitted changes)" if changed else ""
    return f"_Written {day} at commit `{commit}`{dirty}._"
