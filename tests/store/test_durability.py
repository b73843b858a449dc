"""SQLite durability: every write acknowledged before a ``kill -9`` is there after a reopen."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import stat
import sys
from contextlib import closing
from pathlib import Path

import pytest

from gateway.store import SQLiteStore

ROOT = Path(__file__).resolve().parents[2]
RECORDS = 500

# Runs in a child process: writes one record at a time (a document, a log entry and two
# counters, each its own awaited call) and prints "ack i" only after all three returned. It
# never closes the store: the test kills it.
WRITER = """
import asyncio, sys
from gateway.store.sqlite import SQLiteStore

async def main(path, n):
    store = SQLiteStore(path=path)
    await store.open()
    for i in range(n):
        await store.put("docs", f"d{i}", {"i": i})
        await store.append("events", [(f"k{i}", {"i": i})])
        await store.incr("totals", {"n": 1, "sum": i})
        print(f"ack {i}", flush=True)
    print("done", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def _last_ack(output: bytes, last: int) -> int:
    for line in output.splitlines():
        if line.startswith(b"ack "):
            last = max(last, int(line.split()[1]))
    return last


@pytest.mark.parametrize("kill_at", ["mid-stream", "after-all-acks"])
async def test_acknowledged_writes_survive_sigkill(tmp_path: Path, kill_at: str) -> None:
    path = tmp_path / "durable.db"
    target = random.randint(RECORDS // 5, RECORDS * 4 // 5) if kill_at == "mid-stream" else RECORDS
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        str(path),
        str(RECORDS),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    acked = -1
    try:
        async with asyncio.timeout(30):
            while acked + 1 < target and (line := await proc.stdout.readline()):
                acked = _last_ack(line, acked)
    finally:
        proc.kill()  # SIGKILL: no close, no atexit, no checkpoint
        await proc.wait()
    # Acks the child printed before it died are still in the pipe: they count too.
    acked = _last_ack(await proc.stdout.read(), acked)
    stderr = (await proc.stderr.read()).decode()
    assert proc.returncode == -signal.SIGKILL, stderr
    assert acked + 1 >= target, f"writer stopped after {acked + 1} acks: {stderr}"

    store = SQLiteStore(path=path)
    await store.open()
    try:
        ids = [f"d{i}" for i in range(acked + 1)]
        docs = await store.get_many("docs", ids)
        missing = [id for id in ids if id not in docs]
        assert not missing, f"{len(missing)} acknowledged documents lost, e.g. {missing[:5]}"
        assert all(docs[f"d{i}"].data == {"i": i} for i in range(acked + 1))

        entries = await store.read("events", limit=RECORDS + 10)
        assert [e.key for e in entries[: acked + 1]] == [f"k{i}" for i in range(acked + 1)]
        assert [e.cursor for e in entries] == list(range(1, len(entries) + 1))

        totals = await store.counters("totals")
        # At most one unacknowledged record may have committed; n and sum move together.
        assert totals["n"] in (acked + 1, acked + 2), totals
        assert totals["sum"] == totals["n"] * (totals["n"] - 1) // 2
        # The store still works after the crash.
        assert (await store.append("events", [("k0", {})])).duplicates == ["k0"]
    finally:
        await store.close()


async def test_reopen_keeps_everything_and_cursors_continue(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "store.db"  # parents are created
    store = SQLiteStore(path=path)
    await store.open()
    await store.open()  # idempotent
    await store.put("c", "x", {"v": 1})
    await store.append("s", [("k", {"v": 1}), (None, {"v": 2})])
    await store.trim("s", upto=2)
    await store.incr("ns", {"a": 7})
    await store.set_ttl("t", {"v": 1}, 60)
    await store.close()
    await store.close()  # idempotent

    store = SQLiteStore(path=path)
    await store.open()
    try:
        doc = await store.get("c", "x")
        assert doc is not None and doc.data == {"v": 1} and doc.version == 1
        again = await store.append("s", [("k", {}), ("new", {})])
        assert again.duplicates == ["k"] and [e.cursor for e in again.entries] == [3]
        assert await store.counters("ns") == {"a": 7}
        assert await store.get_ttl("t") == {"v": 1}
    finally:
        await store.close()


async def test_database_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    old_umask = os.umask(0o022)
    try:
        store = SQLiteStore(path=path)
        await store.open()
    finally:
        os.umask(old_umask)
    try:
        await store.put("c", "x", {"v": 1})
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        wal = path.with_name(path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600
        with closing(sqlite3.connect(path)) as other:  # a second reader sees the commit
            assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert other.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 1
    finally:
        await store.close()
