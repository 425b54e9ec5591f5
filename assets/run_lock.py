"""One refresh at a time per warehouse, for the whole run (ingest to publish), not only while publishing.

Without it a second refresh started mid-run deleted the first one's build file. The lock is an flock on
`.<warehouse>.run.lock`, taken by the first stage and held by the process until the run ends (released by publish,
by `phm refresh` when the run returns, or by the kernel when a run process dies: never a stale lock). It is
re-entrant within the process, so the stages of one in-process run share it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class RefreshRunning(RuntimeError):
    pass


_held: dict[Path, IO[str]] = {}


def lock_path(warehouse_path: Path) -> Path:
    return warehouse_path.parent / f".{warehouse_path.name}.run.lock"


def acquire_run_lock(warehouse_path: Path) -> None:
    """Take the run lock (no-op when this process holds it); refuse at once when another process does."""
    path = lock_path(warehouse_path)
    if path in _held:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the whole run: the lock lives as long as the handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise RefreshRunning(
            f"another refresh of {warehouse_path} is running ({holder}); try again when it has finished"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    _held[path] = handle


def release_run_lock(warehouse_path: Path) -> None:
    handle = _held.pop(lock_path(warehouse_path), None)
    if handle is not None:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
