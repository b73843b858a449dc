"""``python -m bench``: run the registered benchmarks, print figures, write bench/RESULTS.md.

Every server and load-generator process and the temporary directory are cleaned up on the
way out, also on Ctrl-C, SIGTERM or a failure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from contextlib import ExitStack
from pathlib import Path
from types import FrameType

from bench.context import Context, Options
from bench.registry import Section, load_all
from bench.report import render, write

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"


def parse_args(argv: list[str]) -> argparse.Namespace:
    benchmarks = load_all()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds measured (5)")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds of warm-up (1.5)")
    parser.add_argument("--concurrency", type=int, default=16, help="connections (16)")
    parser.add_argument("--clients", type=int, default=1, help="load generator processes (1)")
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw")
    parser.add_argument(
        "--rounds", type=int, default=2, help="measurements per scenario, best kept (2)"
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile part")
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(benchmarks),
        help="run only this benchmark (repeatable); default: all",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="RESULTS.md path")
    parser.add_argument("--json", type=Path, help="also write the headline figures as JSON")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0 or min(args.concurrency, args.clients) < 1:
        parser.error("need --duration > 0, --warmup >= 0, --concurrency >= 1, --clients >= 1")
    if args.rounds < 1:
        parser.error("need --rounds >= 1")
    return args


TMP_PREFIX = "ogw-bench-"


def _remove_orphans() -> None:
    """Temp dirs of earlier runs killed without cleaning up (SIGKILL): their owner is gone."""
    for path in Path(tempfile.gettempdir()).glob(f"{TMP_PREFIX}*"):
        try:
            owner = int((path / "owner.pid").read_text())
            os.kill(owner, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            continue  # not ours to judge (no marker, or someone else's process)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the ExitStack: servers stop, temp dir goes


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    benchmarks = load_all()
    options = Options(
        duration=args.duration,
        warmup=args.warmup,
        concurrency=args.concurrency,
        clients=args.clients,
        client=args.client,
        rounds=args.rounds,
        profile=not args.no_profile,
    )
    selected = [benchmarks[name] for name in (args.only or benchmarks)]
    # Also when started in the background, where a shell may have set SIGINT to "ignore".
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    started = time.monotonic()
    sections: list[Section] = []
    notes: list[str] = []
    failed: list[str] = []
    try:
        with ExitStack() as stack:
            _remove_orphans()
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=TMP_PREFIX)))
            (tmp / "owner.pid").write_text(str(os.getpid()))
            ctx = Context(options, stack, tmp)
            notes = ctx.notes
            for item in selected:
                print(f"== {item.name}: {item.title}", flush=True)
                try:
                    sections.append(item.run(ctx))
                except Exception as exc:  # one broken benchmark must not sink the others
                    traceback.print_exc()
                    failed.append(item.name)
                    sections.append(_failure(item.title, exc))
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, nothing written", file=sys.stderr)
        return 130
    write(args.output, render(options, sections, argv, notes))
    figures = {s.title: s.figures for s in sections}
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    print(f"wrote {args.output} in {time.monotonic() - started:.0f}s", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _failure(title: str, exc: Exception) -> Section:
    detail = "".join(traceback.format_exception_only(exc)).strip()
    return Section(title=f"{title} — FAILED", markdown=f"```\n{detail[:3000]}\n```")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
