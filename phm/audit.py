"""The audit log of identifiable exports: who downloaded which list, with which filters, when, and how many rows.

One JSON object per line, appended under an exclusive lock so two downloads at once never interleave. The log is
written before the file is handed over: an export that cannot be audited is not made.
"""

from __future__ import annotations

import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from assets.paths import PROJECT_ROOT, resolve


def default_audit_path() -> Path:
    return resolve(os.environ.get("PHM_AUDIT_LOG", PROJECT_ROOT / "audit" / "exports.jsonl"))


def record_export(
    path: Path,
    *,
    user: str,
    channel: str,
    neighbourhood: str,
    list_name: str,
    filters: dict,
    rows: int,
    identifiable: bool,
    run_id: str | None,
) -> dict:
    entry = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "user": user,
        "channel": channel,
        "neighbourhood": neighbourhood,
        "list_name": list_name,
        "filters": filters,
        "rows": rows,
        "identifiable": identifiable,
        "warehouse_run_id": run_id,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as log:
        fcntl.flock(log, fcntl.LOCK_EX)
        try:
            log.write(json.dumps(entry, default=str) + "\n")
            log.flush()
            os.fsync(log.fileno())
        finally:
            fcntl.flock(log, fcntl.LOCK_UN)
    return entry


def read_exports(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
