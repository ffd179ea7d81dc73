"""The embedded queue: Huey's SQLite storage with WAL and synchronous=NORMAL."""

from __future__ import annotations

from django.conf import settings

from paksatalker_site.queue import SqliteWalHuey


def _add(a, b):
    return a + b


def test_queue_is_wal_with_normal_sync_and_keeps_tasks_across_a_reopen(tmp_path):
    filename = str(tmp_path / "queue.sqlite3")
    huey = SqliteWalHuey("t", filename=filename)
    conn = huey.storage.conn
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL: no fsync per enqueue

    add = huey.task(name="add")(_add)
    add(1, 2)
    add(3, 4)
    huey.storage.close()
    reopened = SqliteWalHuey("t", filename=filename)
    reopened.task(name="add")(_add)
    assert reopened.pending_count() == 2
    task = reopened.dequeue()
    assert reopened.execute(task) == 3


def test_an_enqueue_is_one_statement_that_holds_no_transaction_open(tmp_path):
    huey = SqliteWalHuey("t", filename=str(tmp_path / "queue.sqlite3"))
    add = huey.task(name="add")(_add)
    statements = []
    huey.storage.conn.set_trace_callback(statements.append)
    add(2, 5)
    assert [sql.split()[0].lower() for sql in statements] == ["insert"]  # no BEGIN EXCLUSIVE / COMMIT around it
    assert not huey.storage.conn.in_transaction
    huey.storage.conn.set_trace_callback(None)
    assert huey.execute(huey.dequeue()) == 7


def test_embedded_default_uses_it():
    if not settings.REDIS_URL:
        assert settings.HUEY["huey_class"] == "paksatalker_site.queue.SqliteWalHuey"
    else:
        assert settings.HUEY["huey_class"] == "huey.PriorityRedisHuey"
