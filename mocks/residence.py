"""Temporary-residence declarations received by the population mock.

Stored in their own SQLite file (the data set is an immutable cache shared by
all mocks) and de-duplicated by the caller's ``Idempotency-Key``: the key is
UNIQUE in the table, so even two mock processes on the same file store one
declaration per key. A repeat with the same key and the same content gets the
stored first answer byte for byte; the same key with other content is
refused by the caller of ``declare``.

    GET /_admin/residence-declarations[?idempotency_key=K][&so_dinh_danh=ID]
        {"count": n, "items": [...]}   (items: the newest 100 that match)
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

_SCHEMA = """
CREATE TABLE IF NOT EXISTS declarations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    fingerprint TEXT NOT NULL,
    so_dinh_danh TEXT NOT NULL,
    content TEXT NOT NULL,
    received_at TEXT NOT NULL,
    response BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS declarations_person ON declarations (so_dinh_danh);
"""


@dataclass(frozen=True, slots=True)
class Stored:
    """The outcome of ``declare``: the answer to send and whether it is a replay."""

    response: bytes
    replayed: bool


class KeyConflict(Exception):
    """The idempotency key was first used for a declaration with other content."""


def fingerprint(content: dict[str, Any]) -> str:
    """A digest of what was declared, independent of key order."""
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ResidenceStore:
    """One connection per process; every method runs to completion without
    awaiting, so concurrent requests in the event loop cannot interleave."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA busy_timeout = 5000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def declare(
        self,
        key: str,
        content: dict[str, Any],
        received_at: str,
        answer: Callable[[int], bytes],
    ) -> Stored:
        """Store a declaration once per key; ``answer(record_id)`` writes the reply.

        Raises ``KeyConflict`` when ``key`` was used for other content.
        """
        digest = fingerprint(content)
        first = self._by_key(key)
        if first is not None:
            return self._replay(first, digest)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            cursor = self._db.execute(
                "INSERT INTO declarations (idempotency_key, fingerprint, so_dinh_danh, content, "
                "received_at, response) VALUES (?, ?, ?, ?, ?, x'')",
                (key, digest, content["SoDinhDanh"], orjson.dumps(content).decode(), received_at),
            )
            record_id = cursor.lastrowid
            assert record_id is not None
            response = answer(record_id)
            self._db.execute(
                "UPDATE declarations SET response = ? WHERE id = ?", (response, record_id)
            )
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError:
            # Another process stored this key between our read and our write.
            self._db.execute("ROLLBACK")
            row = self._by_key(key)
            assert row is not None
            return self._replay(row, digest)
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return Stored(response, replayed=False)

    def find(self, key: str | None = None, so_dinh_danh: str | None = None) -> dict[str, Any]:
        where, args = [], []
        if key is not None:
            where.append("idempotency_key = ?")
            args.append(key)
        if so_dinh_danh is not None:
            where.append("so_dinh_danh = ?")
            args.append(so_dinh_danh)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        count = self._db.execute(f"SELECT count(*) FROM declarations{clause}", args).fetchone()[0]  # noqa: S608 -- clause built from fixed strings
        rows = self._db.execute(
            f"SELECT id, idempotency_key, content, received_at FROM declarations{clause} "  # noqa: S608 -- clause built from fixed strings
            "ORDER BY id DESC LIMIT 100",
            args,
        ).fetchall()
        items = [
            {
                "id": r[0],
                "idempotency_key": r[1],
                "content": orjson.loads(r[2]),
                "received_at": r[3],
            }
            for r in rows
        ]
        return {"count": count, "items": items}

    def _by_key(self, key: str) -> tuple[str, bytes] | None:
        row: tuple[str, bytes] | None = self._db.execute(
            "SELECT fingerprint, response FROM declarations WHERE idempotency_key = ?", (key,)
        ).fetchone()
        return row

    @staticmethod
    def _replay(row: tuple[str, bytes], digest: str) -> Stored:
        if row[0] != digest:
            raise KeyConflict
        return Stored(bytes(row[1]), replayed=True)


RESIDENCE = web.AppKey("mocks.residence", ResidenceStore)


async def _admin_declarations(request: web.Request) -> web.Response:
    query = request.query
    found = request.app[RESIDENCE].find(query.get("idempotency_key"), query.get("so_dinh_danh"))
    return web.json_response(found)


def setup_residence(app: web.Application, path: Path) -> None:
    """Open the store with the app and close it on cleanup; add the admin route."""

    async def store(app: web.Application) -> AsyncIterator[None]:
        app[RESIDENCE] = ResidenceStore(path)
        yield
        app[RESIDENCE].close()

    app.cleanup_ctx.append(store)
    app.router.add_get("/_admin/residence-declarations", _admin_declarations)
