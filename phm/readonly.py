"""The one way readers open the published warehouse: read-only, and sandboxed.

A plain read-only DuckDB connection can still write files (`COPY ... TO`), read any file on the machine
(`read_csv('/etc/passwd')`), attach other databases read-write, and install or load extensions. Analysts' queries,
lists and the web page open the warehouse through `open_warehouse`, which turns all of that off and locks the
setting so a query cannot turn it back on (DuckDB facts in shared/docs/stack.md).
"""
from __future__ import annotations

from pathlib import Path

import duckdb

SANDBOX = {
    "enable_external_access": False,   # no COPY TO, no reading or attaching other files
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,        # no SET ... to undo the above
}


class NoWarehouse(FileNotFoundError):
    pass


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """A sandboxed read-only connection to the published warehouse."""
    if not Path(path).exists():
        raise NoWarehouse(f"No published warehouse at {path}: run `phm refresh` first.")
    return duckdb.connect(str(path), read_only=True, config=dict(SANDBOX))
