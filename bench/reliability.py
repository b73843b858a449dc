"""bench/RELIABILITY.md: one section per harness (``make chaos``, ``make fuzz``, ``make soak``),
each rewritten by its own run and the others left as they are."""

from __future__ import annotations

import re
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
    section = f"## {title}\n\n{markdown.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text.rstrip() + "\n")
    tmp.replace(path)
