"""Every sandbox in a process of its own (``python -m bench.sandbox_process``): prints the
gateway's environment for them as one JSON line, then serves until its stdin closes.

Harnesses whose load generator is busy (the soak) keep the fake backends out of its
process, so that a slow client loop cannot make the backends slow.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path


def main() -> int:
    from gateway.sandbox.suite import SandboxSuite

    with tempfile.TemporaryDirectory(prefix="ogw-sandboxes-") as tmp:
        suite = SandboxSuite(workdir=Path(tmp))
        suite.start()
        try:
            print(json.dumps(suite.environ()), flush=True)
            sys.stdin.read()  # until the parent closes our stdin (or dies)
        finally:
            suite.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
