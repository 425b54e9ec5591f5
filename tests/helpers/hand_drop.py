"""The hand-made drops of the end-to-end gate and recovery tests, and the session's one refresh of the first
(the `hand_drop_refresh` fixture of tests/conftest.py): `phm refresh --reference-date EARLIER` of FIRST."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tests.helpers.drops import minimal_rows, write_feed, write_manifest

FIRST, SECOND = date(2026, 11, 24), date(2026, 11, 25)
EARLIER = date(2026, 8, 31)  # the session's refresh rebuilds the first drop as of this reference date


def add_drop(landing: Path, day: date, changes: dict[str, list[dict]] | None = None) -> Path:
    drop = landing / day.isoformat()
    drop.mkdir(parents=True)
    rows = minimal_rows(day)
    rows.update(changes or {})
    for feed, feed_rows in rows.items():
        write_feed(drop, feed, feed_rows)
    write_manifest(drop, day)
    return drop


@dataclass
class Published:
    published: bool
    failures: str  # the command's output
    run_id: str | None


@dataclass
class HandDropRefresh:
    root: Path
    landing: Path
    warehouse: Path
    outcome: Published
