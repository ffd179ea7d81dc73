"""The embedded queue: Huey's stock SQLite storage, in WAL mode, beside the job database."""

from __future__ import annotations

from django.conf import settings
from huey import SqliteHuey


def _add(a, b):
    return a + b


def test_embedded_default_is_hueys_sqlite_storage_in_the_data_dir():
    if settings.REDIS_URL:
        assert settings.HUEY["huey_class"] == "huey.PriorityRedisHuey"
        return
    assert settings.HUEY["huey_class"] == "huey.SqliteHuey"
    assert settings.HUEY["filename"] == str(settings.DATA_DIR / "huey.sqlite3")


def test_tasks_survive_a_reopen_of_the_wal_queue(tmp_path):
    filename = str(tmp_path / "queue.sqlite3")
    huey = SqliteHuey("t", filename=filename)
    assert huey.storage.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    add = huey.task(name="add")(_add)
    add(1, 2)
    add(3, 4)
    huey.storage.close()
    reopened = SqliteHuey("t", filename=filename)
    reopened.task(name="add")(_add)
    assert reopened.pending_count() == 2
    assert reopened.execute(reopened.dequeue()) == 3
