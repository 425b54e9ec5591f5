"""Shared fixtures (helpers live in tests/drops.py)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

from tests.drops import minimal_rows, write_feed, write_manifest


@pytest.fixture
def make_drop(tmp_path):
    """make_drop(changes) -> landing dir with one drop; changes: feed -> rows replacing the minimal rows."""

    def _make(
        changes: dict[str, list[dict]] | None = None, extract_date: date = date(2026, 11, 25), fmt: str = "parquet"
    ) -> Path:
        landing = tmp_path / "landing"
        drop = landing / extract_date.isoformat()
        drop.mkdir(parents=True, exist_ok=True)
        rows = minimal_rows(extract_date)
        rows.update(changes or {})
        for feed_name, feed_rows in rows.items():
            write_feed(drop, feed_name, feed_rows, fmt)
        write_manifest(drop, extract_date)
        return landing

    return _make
