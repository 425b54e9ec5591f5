"""`phm docs`: dbt's documentation built against the published warehouse, which is never written; every published
marts column has a description."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from phm.cli import app
from phm.docs import undocumented_columns

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)


def test_docs_describe_every_marts_column_and_leave_the_warehouse_untouched(published_warehouse, tmp_path):
    before = hashlib.sha256(published_warehouse.read_bytes()).hexdigest()
    result = CliRunner().invoke(
        app, ["docs", "--warehouse", str(published_warehouse), "--out", str(tmp_path)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert hashlib.sha256(published_warehouse.read_bytes()).hexdigest() == before
    page = (tmp_path / "static_index.html").read_text()
    assert "target_lists" in page and "new_since_last_refresh" in page
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    marts = {
        e["metadata"]["name"]: e["columns"] for e in catalog["nodes"].values() if e["metadata"]["schema"] == "marts"
    }
    assert {"person", "target_lists", "target_list_summary", "core20plus5_indicators"} <= set(marts)
    assert "priority_rank" in {c.lower() for c in marts["target_lists"]}
    assert undocumented_columns(tmp_path) == {}
