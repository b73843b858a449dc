"""Copying a whole store into another (``ops-gateway store copy``): SQLite -> PostgreSQL is
the upgrade path. Documents (with fresh versions), logs (at their own cursors, with their
idempotency keys and their times) and counters; TTL entries are caches and locks that
rebuild themselves, and are not copied. The copy is verified by counting both sides.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.store.base import Store

PAGE = 500


class TargetNotEmpty(Exception):
    """The target already holds data: copying into it could mix two histories."""


@dataclass(slots=True)
class CopyReport:
    documents: dict[str, int] = field(default_factory=dict)
    entries: dict[str, int] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"collection {n}: {c} documents" for n, c in sorted(self.documents.items())]
        out += [
            f"stream {n}: {c} entries, {self.keys.get(n, 0)} idempotency keys"
            for n, c in sorted(self.entries.items())
        ]
        out += [f"counters {n}: {c}" for n, c in sorted(self.counters.items())]
        return out


async def copy_store(source: Store, target: Store, *, force: bool = False) -> CopyReport:
    catalog = await source.catalog()
    existing = await target.catalog()
    if not force and (existing.collections or existing.streams or existing.namespaces):
        raise TargetNotEmpty("the target store is not empty; pass --force to copy into it anyway")
    report = CopyReport()
    for collection in catalog.collections:
        after: str | None = None
        while True:
            docs = await source.list(collection, after=after, limit=PAGE)
            for doc in docs:
                await target.put(collection, doc.id, doc.data)
            report.documents[collection] = report.documents.get(collection, 0) + len(docs)
            if len(docs) < PAGE:
                break
            after = docs[-1].id
    for stream in catalog.streams:
        offset, keys = 0, []
        while batch := await source.export_keys(stream, offset=offset, limit=PAGE):
            keys += batch
            offset += len(batch)
        cursor, copied = 0, 0
        while entries := await source.read(stream, after=cursor, limit=PAGE):
            await target.restore(stream, entries, [])
            cursor, copied = entries[-1].cursor, copied + len(entries)
        for start in range(0, len(keys), PAGE):
            await target.restore(stream, [], keys[start : start + PAGE])
        report.entries[stream], report.keys[stream] = copied, len(keys)
    for namespace in catalog.namespaces:
        values = await source.counters(namespace)
        if values:
            await target.incr(namespace, values)
        report.counters[namespace] = len(values)
    await _verify(source, target, report)
    return report


async def _verify(source: Store, target: Store, report: CopyReport) -> None:
    for collection, n in report.documents.items():
        if (found := await target.count(collection)) < n:
            report.mismatches.append(f"collection {collection}: {found} of {n}")
    for stream, n in report.entries.items():
        if (found := await target.log_length(stream)) < n:
            report.mismatches.append(f"stream {stream}: {found} of {n} entries")
    for namespace in report.counters:
        if await target.counters(namespace) != await source.counters(namespace):
            report.mismatches.append(f"counters {namespace} differ")
