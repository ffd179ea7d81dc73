"""Settings for the test run: the project's own settings on a throwaway data directory,
so tests never touch ./data (its database, Huey queue file or media)."""

import atexit
import os
import shutil
import tempfile

if "PAKSA_DATA_DIR" not in os.environ:
    _data_dir = tempfile.mkdtemp(prefix="paksatalker-tests-")
    os.environ["PAKSA_DATA_DIR"] = _data_dir
    atexit.register(shutil.rmtree, _data_dir, True)

from paksatalker_site.settings import *  # noqa: E402,F403

# A file database, as in production (WAL, busy timeout): threads that render while the
# test polls get SQLite's lock waits, not the shared-cache "table is locked" of an
# in-memory test database, which no timeout retries.
DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}  # noqa: F405
