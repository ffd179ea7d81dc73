"""Huey's SQLite queue for the embedded default, tuned like the job database.

Huey's own SqliteStorage offers synchronous FULL (an fsync per enqueue) or OFF (a
database that an OS crash may corrupt). In WAL mode NORMAL is the safe middle: a
crash of the process loses nothing, a power cut at most the last enqueues, and a
commit needs no fsync.
"""

from __future__ import annotations

from huey import Huey
from huey.storage import SqliteStorage


class SqliteWalStorage(SqliteStorage):
    def _create_connection(self):
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn

    def enqueue(self, data, priority=None):
        # One INSERT in autocommit mode, where Huey wraps it in BEGIN EXCLUSIVE ... COMMIT: the
        # write lock is then held only inside SQLite, never across a return to Python, where
        # another thread of the process can keep the GIL for up to 5 ms while every other web
        # process's enqueue sleeps in SQLite's busy handler.
        self.sql("insert into task (queue, data, priority) values (?, ?, ?)",
                 (self.name, self.to_blob(data), priority or 0))


class SqliteWalHuey(Huey):
    storage_class = SqliteWalStorage
