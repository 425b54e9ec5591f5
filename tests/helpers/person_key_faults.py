"""A pseudonymisation defect, one person keyed twice in raw.person_key, injected into the DuckDB person key.

Every feed is clean, so gate 1 passes; dbt's error-severity uniqueness test on raw.person_key then fails, and the
refresh names it as BLOCKED_BY (tests/e2e/test_refresh_gates.py).
"""

from __future__ import annotations

import pytest

import orchestration.assets

BLOCKED_BY = (
    "dbt test blocked table raw.person_key: test source_unique_raw_person_key_person_id column person_id "
    "(1 rows failing)"
)


def key_one_person_twice_on_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    build_person_key = orchestration.assets.build_person_key

    def faulty(con, key, known=None):
        people = build_person_key(con, key, known)
        con.execute("INSERT INTO raw.person_key SELECT * FROM raw.person_key LIMIT 1")
        return people

    monkeypatch.setattr(orchestration.assets, "build_person_key", faulty)
