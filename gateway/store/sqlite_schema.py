"""The SQLite store's database file: its schema and how a connection to it is opened.

Kept apart from the queries in :mod:`gateway.store.sqlite`: this is what the file on disk looks
like (tables, ``user_version``, mode 0600, WAL) whichever process opens it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS documents (collection TEXT NOT NULL, id TEXT NOT NULL,
    data TEXT NOT NULL, version INTEGER NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (collection, id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS logs (stream TEXT NOT NULL, cursor INTEGER NOT NULL, key TEXT,
    data TEXT NOT NULL, ts REAL NOT NULL, PRIMARY KEY (stream, cursor)) WITHOUT ROWID;
-- Idempotency keys live apart from the entries, so trim() cannot make a key appendable again.
CREATE TABLE IF NOT EXISTS log_keys (stream TEXT NOT NULL, key TEXT NOT NULL,
    cursor INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (stream, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS log_keys_at ON log_keys (at);
-- Last cursor handed out per stream, so cursors never repeat after a trim emptied a stream.
CREATE TABLE IF NOT EXISTS log_heads (stream TEXT PRIMARY KEY, last_cursor INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (namespace TEXT NOT NULL, name TEXT NOT NULL,
    value INTEGER NOT NULL, PRIMARY KEY (namespace, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ttl (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ttl_expires_at ON ttl (expires_at);
PRAGMA user_version = 2;
COMMIT;
"""
# Version 1 kept keys without a time: they get the upgrade's time, so they are remembered for
# a whole retention window from now (never pruned early).
UPGRADE_1_TO_2 = """
BEGIN IMMEDIATE;
ALTER TABLE log_keys ADD COLUMN at REAL NOT NULL DEFAULT 0;
UPDATE log_keys SET at = CAST(strftime('%s', 'now') AS REAL);
CREATE INDEX IF NOT EXISTS log_keys_at ON log_keys (at);
PRAGMA user_version = 2;
COMMIT;
"""


def connect(path: str) -> sqlite3.Connection:
    """Open (creating if needed) the database at ``path``, or ``":memory:"``, with the schema
    in place. Call it on the thread that will use the connection."""
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Create the file 0600 ourselves: it holds tokens and encrypted secrets. SQLite
        # gives the -wal and -shm files the mode of the database file.
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    conn = sqlite3.connect(path, isolation_level=None)  # we issue BEGIN/COMMIT
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() not in ("wal", "memory"):
            raise RuntimeError(f"SQLite refused WAL mode for {path} (got {mode!r})")
        # WAL + NORMAL: a commit is write()n to the WAL before it returns, so it survives
        # a process crash (kill -9, see tests/store/test_durability.py); only an OS crash
        # or power loss may lose the last commits (FULL would fsync each one).
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=5000")
        if conn.execute("PRAGMA user_version").fetchone()[0] == 1:
            conn.executescript(UPGRADE_1_TO_2)
        conn.executescript(SCHEMA)
    except BaseException:
        conn.close()
        raise
    return conn
