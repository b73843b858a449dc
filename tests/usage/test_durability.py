"""An acknowledged usage event survives SIGKILL of the serving process right after the answer."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from gateway.auth.tokens import TokenService
from gateway.pubsub import MemoryPubSub
from gateway.store import SQLiteStore
from gateway.store.names import USAGE_STREAM as STREAM
from gateway.usage.buckets import day_key
from gateway.usage.service import UsageService
from tests.plugins.servers import free_port
from tests.usage.helpers import event, raw_events

ROOT = Path(__file__).resolve().parents[2]
_SCRUB = ("GATEWAY_", "REDIS_", "OIDC_", "LAGO_")


async def _serve(db: Path, port: int) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env |= {
        "GATEWAY_STORE": f"sqlite:///{db}",
        "GATEWAY_DATA_DIR": str(db.parent),
        "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
        "GATEWAY_RATE_PER_SECOND": "100000",
        "GATEWAY_RATE_BURST": "100000",
        "PYTHONPATH": str(ROOT),
    }
    argv = ["-m", "uvicorn", "gateway.cli:app_from_env", "--factory", "--port", str(port)]
    return await asyncio.create_subprocess_exec(
        sys.executable, *argv, "--log-level", "warning", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_acknowledged_events_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    store = SQLiteStore(path=db)
    await store.open()
    token, _ = await TokenService(store=store).create(
        subject="proxy", roles=["developer"], expires_in=600
    )
    await store.close()

    port = free_port()
    proc = await _serve(db, port)
    acked: list[str] = []
    url = f"http://127.0.0.1:{port}"
    stop = asyncio.Event()
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            async with asyncio.timeout(20):
                while True:  # until the server answers
                    try:
                        if (await client.get("/healthz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
            headers = {"Authorization": f"Bearer {token}"}

            async def sender(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    batch = [event(f"w{worker}-{n}-{i}") for i in range(20)]
                    n += 1
                    try:
                        r = await client.post("/v1/usage/events", json=batch, headers=headers)
                    except httpx.TransportError:
                        return  # killed mid-request: not acknowledged
                    assert r.status_code == 200, r.text
                    acked.extend(ev["id"] for ev in batch)
                    if len(acked) >= 600 and not stop.is_set():
                        # SIGKILL at once, with the other senders' requests in flight. Once:
                        # a second send_signal would poll() and reap the child under asyncio.
                        stop.set()
                        proc.send_signal(signal.SIGKILL)

            await asyncio.gather(*(sender(w) for w in range(4)))
    finally:
        if not stop.is_set():  # a failure before the planned kill
            proc.kill()
        await proc.wait()
    stderr = (await proc.stderr.read()).decode()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL, (len(acked), stderr)
    assert len(acked) >= 600

    store = SQLiteStore(path=db)
    await store.open()
    try:
        recorded = {e.id for e in await raw_events(store)}
        missing = set(acked) - recorded
        assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
        # Rollups the dead process may not have applied are caught up on the next start.
        usage = UsageService(store=store, pubsub=MemoryPubSub())
        await usage.projector.catch_up()
        head = (await store.read(STREAM, limit=1, reverse=True))[0].cursor
        assert await usage.projector.cursor() == head
        counted = 0
        for day in {day_key(e.timestamp) for e in await raw_events(store)}:
            counters = await store.counters(f"usage:d:{day}:m")
            counted += counters.get("gpt-4o\x1fopenai\x1fn", 0)
        assert counted == len(recorded)
    finally:
        await store.close()
