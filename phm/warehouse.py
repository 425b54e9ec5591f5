"""Readers' access to the published warehouse: read-only, sandboxed, and reopened when a refresh publishes.

A refresh publishes by renaming a new file over the warehouse (assets/publish.py), so a reader that keeps one
connection open keeps reading yesterday's file. `open_reader` opens whatever file is at the path now and never sees a
half-written file. Long-lived readers (the web app) use `PublishedReader`: one open file, a cursor per request, and
a reopen as soon as the path names a new file. Opening costs about 50 ms whatever the query (DuckDB starts a
database; 1M-person warehouse, 2026-12-02), more than a neighbourhood's list query itself (about 12 ms).

Why ATTACH into an in-memory database rather than duckdb.connect(path): duckdb caches one database instance per
path in a process, so connect(path) while any older connection is still open returns the *old* file's instance
(seen on duckdb 2.0.1). Every in-memory database is new, so each reader attaches the file at the path now.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from assets.paths import identity_path

# stack.md ("A sandboxed reader"): read-only alone still allows COPY ... TO and ATTACH of other files read-write.
# File access can only be switched off after the warehouse is attached, then the configuration is locked.
EXTENSION_CONFIG = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}


class WarehouseMissing(FileNotFoundError):
    def __init__(self, path: Path):
        super().__init__(
            f"No published warehouse at {path}. Make one with `phm refresh` (or `make refresh`), "
            f"or point --warehouse / PHM_WAREHOUSE at an existing phm.duckdb."
        )
        self.path = path


class IdentityMissing(FileNotFoundError):
    def __init__(self, path: Path):
        super().__init__(
            f"No identity file at {path} (it is published beside the warehouse by `phm refresh`, readable by its "
            "owner only): NHS numbers cannot be exported without it."
        )
        self.path = path


def open_reader(path: Path, identity: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection that can read the warehouse's tables and nothing else on disk. identity=True (an
    identifiable export for direct care, which the caller audits) also attaches the identity file read-only, as
    catalog `identity`; no other reader ever sees it."""
    if not path.exists():
        raise WarehouseMissing(path)
    identity_file = identity_path(path)
    if identity and not identity_file.exists():
        raise IdentityMissing(identity_file)
    con = duckdb.connect(":memory:", config=dict(EXTENSION_CONFIG))
    try:
        con.execute("ATTACH ? AS warehouse (READ_ONLY)", [str(path)])
        if identity:
            con.execute("ATTACH ? AS identity (READ_ONLY)", [str(identity_file)])
        con.execute("USE warehouse")
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except Exception:
        con.close()
        raise
    return con


def published_refresh(con: duckdb.DuckDBPyConnection) -> dict:
    """The refresh the open file came from: run id, extract and reference dates, when it was published."""
    rows = con.execute("""SELECT run_id, extract_date, reference_date, published_at FROM meta.refresh_log
                          ORDER BY published_at DESC LIMIT 1""").fetchall()
    if not rows:
        return {}
    run_id, extract_date, reference_date, published_at = rows[0]
    return {
        "run_id": run_id,
        "extract_date": extract_date,
        "reference_date": reference_date,
        "published_at": published_at,
    }


class PublishedReader:
    """Cursors on the published warehouse for a long-lived reader: the file is opened once (`open_reader`, same
    sandbox) and each request takes a cursor on it (a connection to the same database, sharing its configuration and
    its cached pages). Before each cursor the path is looked at again: a publish renames a new file over it, so a new
    inode (or size or modification time) means a new file, and the next request opens it. A request already running
    finishes on the file it started on; the file before is closed at the following publish."""

    def __init__(self, path: Path, identity: bool = False):
        self.path = path
        self.identity = identity
        self._lock = threading.Lock()
        self._open: tuple[tuple, duckdb.DuckDBPyConnection] | None = None
        self._retired: duckdb.DuckDBPyConnection | None = None

    def _files_now(self) -> tuple:
        files = [self.path, identity_path(self.path)] if self.identity else [self.path]
        try:
            stats = [os.stat(f) for f in files]
        except FileNotFoundError:
            stats = []  # open_reader names what is missing
        return tuple((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) for st in stats)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        files = self._files_now()
        with self._lock:
            if self._open is None or self._open[0] != files or not files:
                con = open_reader(self.path, identity=self.identity)
                if self._retired is not None:
                    self._retired.close()
                self._retired = self._open[1] if self._open else None
                self._open = (files, con)
            cursor = self._open[1].cursor()
        cursor.execute("USE warehouse")  # the default catalog is per connection; the sandbox is the database's
        return cursor

    def close(self) -> None:
        with self._lock:
            for con in (self._retired, self._open[1] if self._open else None):
                if con is not None:
                    con.close()
            self._open = self._retired = None
