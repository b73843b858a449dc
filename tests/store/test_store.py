"""One suite for every Store implementation (the ``store`` fixture runs it on each)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from gateway.errors import ConfigurationError, ConflictError
from gateway.store import PostgresStore, RedisStore, SQLiteStore, Store, open_store

DATA = {"name": "Zoë", "n": 3, "ratio": 0.25, "ok": True, "none": None, "tags": ["a", "b"]}


# -- documents ---------------------------------------------------------------------------
async def test_implements_protocol_and_pings(store: Store) -> None:
    assert isinstance(store, Store)
    await store.ping()


async def test_put_get_roundtrip_and_versions(store: Store) -> None:
    before = time.time()
    doc = await store.put("things", "t1", {**DATA, "nested": {"deep": [1, {"x": 2}]}})
    assert (doc.collection, doc.id, doc.version) == ("things", "t1", 1)
    assert before - 1 <= doc.updated_at <= time.time() + 1

    got = await store.get("things", "t1")
    assert got == doc
    assert got is not None and got.data["nested"] == {"deep": [1, {"x": 2}]}

    doc2 = await store.put("things", "t1", {"name": "changed"})
    assert doc2.version == 2
    assert (await store.get("things", "t1")) == doc2
    assert await store.get("things", "missing") is None
    assert await store.get("other", "t1") is None  # collections are separate


async def test_expected_version_conflicts(store: Store) -> None:
    created = await store.put("c", "x", {"v": 1}, expected_version=0)
    assert created.version == 1
    with pytest.raises(ConflictError):
        await store.put("c", "x", {"v": "again"}, expected_version=0)  # must not exist yet
    updated = await store.put("c", "x", {"v": 2}, expected_version=1)
    assert updated.version == 2
    with pytest.raises(ConflictError):
        await store.put("c", "x", {"v": "stale"}, expected_version=1)
    with pytest.raises(ConflictError):
        await store.put("c", "absent", {"v": 1}, expected_version=4)
    current = await store.get("c", "x")
    assert current is not None and current.data == {"v": 2} and current.version == 2
    assert await store.get("c", "absent") is None


async def test_delete(store: Store) -> None:
    assert await store.delete("c", "nothing") is False
    await store.put("c", "x", {"v": 1})
    await store.put("c", "x", {"v": 2})
    with pytest.raises(ConflictError):
        await store.delete("c", "x", expected_version=1)
    assert await store.get("c", "x") is not None
    assert await store.delete("c", "x", expected_version=2) is True
    assert await store.get("c", "x") is None
    assert await store.count("c") == 0
    assert (await store.put("c", "x", {"v": 3})).version == 1  # a new life starts again
    assert await store.delete("c", "x") is True


async def test_lost_updates_are_prevented(store: Store) -> None:
    """Read-modify-write loops retried on ConflictError never lose an increment."""
    await store.put("c", "counter", {"n": 0})

    async def bump() -> None:
        while True:
            doc = await store.get("c", "counter")
            assert doc is not None
            try:
                await store.put(
                    "c", "counter", {"n": doc.data["n"] + 1}, expected_version=doc.version
                )
                return
            except ConflictError:
                await asyncio.sleep(0)

    await asyncio.gather(*(bump() for _ in range(20)))
    final = await store.get("c", "counter")
    assert final is not None and final.data == {"n": 20} and final.version == 21


async def test_get_many(store: Store) -> None:
    for i in range(5):
        await store.put("c", f"d{i}", {"i": i})
    await store.put("other", "d9", {"i": 9})
    got = await store.get_many("c", ["d4", "d0", "missing", "d0", "d9"])
    assert set(got) == {"d0", "d4"}
    assert got["d4"].data == {"i": 4} and got["d4"].version == 1
    assert await store.get_many("c", []) == {}
    many = await store.get_many("c", [f"d{i}" for i in range(1200)])  # beyond one IN chunk
    assert sorted(many) == [f"d{i}" for i in range(5)]


async def test_list_pages_in_id_order_and_count(store: Store) -> None:
    ids = [f"item-{i:03d}" for i in range(25)] + ["Zeta", "alpha", "ärger", "a:b|c"]
    for i, id in enumerate(reversed(ids)):
        await store.put("items", id, {"i": i})
    await store.put("elsewhere", "item-000", {})
    assert await store.count("items") == len(ids)

    seen: list[str] = []
    after = None
    while page := await store.list("items", after=after, limit=10):
        assert len(page) <= 10
        seen += [d.id for d in page]
        after = page[-1].id
    assert seen == sorted(ids)  # code-point order, the same as UTF-8 byte order

    first = await store.list("items", limit=3)
    assert [d.id for d in first] == sorted(ids)[:3]
    assert first[0].data == {"i": len(ids) - 1 - ids.index(first[0].id)}
    assert await store.list("items", limit=0) == []
    assert await store.list("items", after=sorted(ids)[-1]) == []
    await store.delete("items", "alpha")
    assert await store.count("items") == len(ids) - 1
    assert "alpha" not in [d.id for d in await store.list("items", limit=100)]
    assert await store.count("nothing") == 0


# -- logs --------------------------------------------------------------------------------
async def test_append_and_read_windows(store: Store) -> None:
    result = await store.append("s", [("a", {"n": 1}), (None, {"n": 2}), ("c", {"n": 3})])
    assert [e.cursor for e in result.entries] == [1, 2, 3]
    assert [e.key for e in result.entries] == ["a", None, "c"]
    assert result.duplicates == []

    everything = await store.read("s")
    assert [(e.cursor, e.key, e.data) for e in everything] == [
        (1, "a", {"n": 1}),
        (2, None, {"n": 2}),
        (3, "c", {"n": 3}),
    ]
    assert everything == result.entries
    assert [e.cursor for e in await store.read("s", after=1)] == [2, 3]
    assert [e.cursor for e in await store.read("s", before=3)] == [1, 2]
    assert [e.cursor for e in await store.read("s", after=1, before=3)] == [2]
    assert await store.read("s", after=2, before=3) == []
    assert await store.read("s", before=1) == []
    assert [e.cursor for e in await store.read("s", reverse=True)] == [3, 2, 1]
    assert [e.cursor for e in await store.read("s", reverse=True, limit=2)] == [3, 2]
    assert [e.cursor for e in await store.read("s", reverse=True, before=3)] == [2, 1]
    assert [e.cursor for e in await store.read("s", limit=1)] == [1]
    assert await store.read("s", limit=0) == []
    assert await store.read("s", after=3) == []
    assert await store.log_length("s") == 3
    assert await store.read("other") == [] and await store.log_length("other") == 0
    assert (await store.append("s", [])).entries == []


async def test_append_is_idempotent_within_a_batch_and_across_calls(store: Store) -> None:
    first = await store.append(
        "s", [("k1", {"v": 1}), ("k1", {"v": "dup"}), (None, {}), (None, {})]
    )
    assert [e.cursor for e in first.entries] == [1, 2, 3]
    assert first.duplicates == ["k1"]

    second = await store.append("s", [("k2", {"v": 2}), ("k1", {"v": "again"})])
    assert [(e.cursor, e.key) for e in second.entries] == [(4, "k2")]
    assert second.duplicates == ["k1"]
    assert [e.data for e in await store.read("s") if e.key == "k1"] == [{"v": 1}]

    # The same key in another stream is a different key.
    other = await store.append("t", [("k1", {"v": "t"})])
    assert [(e.cursor, e.key) for e in other.entries] == [(1, "k1")]


async def test_trim_keeps_idempotency_keys_and_cursors_never_repeat(store: Store) -> None:
    await store.append("s", [(f"k{i}", {"i": i}) for i in range(1, 6)])
    assert await store.trim("s", upto=3) == 3
    assert await store.log_length("s") == 2
    assert [e.cursor for e in await store.read("s")] == [4, 5]
    assert await store.trim("s", upto=3) == 0

    again = await store.append("s", [("k1", {"i": "replayed"}), ("k6", {"i": 6})])
    assert again.duplicates == ["k1"]
    assert [e.cursor for e in again.entries] == [6]

    assert await store.trim("s", upto=100) == 3
    assert await store.log_length("s") == 0
    after_empty = await store.append("s", [("k2", {}), ("k7", {})])
    assert after_empty.duplicates == ["k2"]
    assert [e.cursor for e in after_empty.entries] == [7]
    assert await store.trim("empty", upto=10) == 0


async def test_paging_forward_and_backward(store: Store) -> None:
    await store.append("s", [(f"e{i}", {"i": i}) for i in range(250)])
    forward: list[int] = []
    after = None
    while page := await store.read("s", after=after, limit=40):
        forward += [e.data["i"] for e in page]
        after = page[-1].cursor
    assert forward == list(range(250))

    backward: list[int] = []
    before = None
    while page := await store.read("s", before=before, limit=40, reverse=True):
        backward += [e.data["i"] for e in page]
        before = page[-1].cursor
    assert backward == list(range(249, -1, -1))


# -- counters ----------------------------------------------------------------------------
async def test_counters(store: Store) -> None:
    assert await store.counters("ns") == {}
    assert await store.incr("ns", {"a": 1, "b": 5}) == {"a": 1, "b": 5}
    assert await store.incr("ns", {"a": 2, "c": -3}) == {"a": 3, "c": -3}
    assert await store.incr("ns", {}) == {}
    assert await store.counters("ns") == {"a": 3, "b": 5, "c": -3}
    assert await store.counters("ns", ["a", "missing", "c"]) == {"a": 3, "c": -3}
    assert await store.counters("ns", []) == {}
    assert await store.counters("other") == {}
    many = await store.counters("ns", [f"n{i}" for i in range(1000)] + ["b"])
    assert many == {"b": 5}


async def test_incr_is_atomic_under_concurrency(store: Store) -> None:
    results = await asyncio.gather(
        *(store.incr("hits", {"requests": 1, "bytes": 10}) for _ in range(50))
    )
    # Every call saw a distinct value: no two increments read the same old value.
    assert sorted(r["requests"] for r in results) == list(range(1, 51))
    assert await store.counters("hits") == {"requests": 50, "bytes": 500}


async def test_incr_many_spans_namespaces(store: Store) -> None:
    assert await store.incr_many({"a": {"x": 2, "y": -1}, "b": {"x": 5}, "empty": {}})
    assert await store.incr_many({"a": {"x": 3}})
    assert await store.incr_many({})
    assert await store.counters("a") == {"x": 5, "y": -1}
    assert await store.counters("b") == {"x": 5}
    assert await store.counters("empty") == {}


async def test_incr_many_guard_applies_all_or_nothing(store: Store) -> None:
    # A missing guard counter counts as 0; the guard may advance in the same step.
    step = {"cursor": {"applied": 10}, "rollup": {"n": 7}}
    assert await store.incr_many(step, guard=("cursor", "applied", 0))
    assert not await store.incr_many(step, guard=("cursor", "applied", 0))  # stale: nothing
    assert not await store.incr_many({"rollup": {"n": 1}}, guard=("cursor", "missing", 3))
    assert await store.counters("cursor") == {"applied": 10}
    assert await store.counters("rollup") == {"n": 7}
    assert await store.incr_many(step, guard=("cursor", "applied", 10))
    assert await store.counters("rollup") == {"n": 14}


async def test_incr_many_guard_lets_one_of_many_racers_win(store: Store) -> None:
    """Projectors racing from one cursor: exactly one applies its step."""
    step = {"cursor": {"applied": 1}, "rollup": {"n": 1}}
    results = await asyncio.gather(
        *(store.incr_many(step, guard=("cursor", "applied", 0)) for _ in range(20))
    )
    assert results.count(True) == 1
    assert await store.counters("rollup") == {"n": 1}


# -- TTL ---------------------------------------------------------------------------------
async def test_ttl_entries_expire(store: Store) -> None:
    await store.set_ttl("nonce", {"v": 1}, 0.2)
    await store.set_ttl("long", {"v": "long"}, 60)
    assert await store.get_ttl("nonce") == {"v": 1}
    deadline = time.monotonic() + 3
    while await store.get_ttl("nonce") is not None:
        assert time.monotonic() < deadline, "TTL entry never expired"
        await asyncio.sleep(0.05)
    assert await store.get_ttl("long") == {"v": "long"}

    await store.set_ttl("long", {"v": "replaced"}, 60)
    assert await store.get_ttl("long") == {"v": "replaced"}
    await store.delete_ttl("long")
    assert await store.get_ttl("long") is None
    await store.delete_ttl("never-set")
    await store.set_ttl("zero", {"v": 0}, 0)
    assert await store.get_ttl("zero") is None
    assert await store.get_ttl("missing") is None


async def test_expired_entry_can_be_set_again(store: Store) -> None:
    await store.set_ttl("k", {"gen": 1}, 0.05)
    await asyncio.sleep(0.1)
    assert await store.get_ttl("k") is None
    await store.set_ttl("k", {"gen": 2}, 60)
    assert await store.get_ttl("k") == {"gen": 2}


# -- factory -----------------------------------------------------------------------------
def test_open_store_parses_urls() -> None:
    rel = open_store("sqlite:///./data/ops.db")
    assert isinstance(rel, SQLiteStore) and rel.path == "./data/ops.db"
    absolute = open_store("sqlite:////var/lib/ogw/ops.db")
    assert isinstance(absolute, SQLiteStore) and absolute.path == "/var/lib/ogw/ops.db"
    red = open_store("redis://127.0.0.1:6379/3")
    assert isinstance(red, RedisStore) and red.url == "redis://127.0.0.1:6379/3"
    for scheme in ("postgresql", "postgres"):
        pg = open_store(f"{scheme}://ogw:pw@db:5432/ogw", pool_size=7)
        assert isinstance(pg, PostgresStore) and pg.pool_size == 7
    for bad in ("mysql://db/x", "ops.db", "sqlite://relative.db", "sqlite:///"):
        with pytest.raises(ConfigurationError, match="GATEWAY_STORE"):
            open_store(bad)


async def test_unopened_store_refuses_calls(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await SQLiteStore(path=tmp_path / "x.db").get("c", "x")


async def test_idempotency_keys_are_pruned_after_the_window(store: Store) -> None:
    first = await store.append("events", [("old-1", {"n": 1}), ("old-2", {"n": 2})])
    assert len(first.entries) == 2
    cutoff = time.time() + 0.001
    await asyncio.sleep(0.01)
    await store.append("events", [("new-1", {"n": 3})])
    assert await store.prune_keys(older_than=cutoff) == 2
    # Forgotten keys are appendable again; a remembered one is still a duplicate.
    again = await store.append("events", [("old-1", {"n": 1}), ("new-1", {"n": 3})])
    assert [e.key for e in again.entries] == ["old-1"] and again.duplicates == ["new-1"]
    assert await store.prune_keys(older_than=cutoff) == 0
