"""`phm bench` smoke test at a small size: it runs end to end and reports every measure (numbers not asserted)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from phm.bench import MEASURES
from phm.cli import app

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)


def test_bench_reports_every_stage_the_floor_and_query_latency(tmp_path):
    result = CliRunner().invoke(app, ["bench", "--sizes", "1500", "--out", str(tmp_path / "bench")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert report["machine"]["cores"] >= 1
    [size] = report["results"]
    assert size["patients"] == 1500 and size["published"]
    assert size["floor_seconds"] > 0 and size["refresh_seconds"] > size["floor_seconds"]
    assert size["refresh_peak_mb"] > 0
    assert {"ingest", "gate1", "person_key", "dbt_build", "risk_validation", "publish"} <= set(size["stages"])
    assert set(size["queries_ms"]) == set(MEASURES)  # the web page's main request among them
    assert set(size["stage_peak_mb"]) <= set(size["stages"]) and size["stage_peak_mb"]["dbt_build"] > 0
    # the incremental refresh: the drop re-sent with one feed corrected, over the published warehouse
    assert size["incremental_published"] and size["incremental_seconds"] > 0
    assert {"ingest", "dbt_build", "publish"} <= set(size["incremental_stages"])
    report_md = (tmp_path / "bench" / "bench.md").read_text()
    assert "refresh / floor" in report_md and "| incremental / full |" in report_md
    # every target has its row; at 1,500 people only the peak memory can be judged
    assert "| peak memory of all processes of a refresh | <= 4000 MB |" in report_md
    assert report_md.count("not measured") == 7
