"""`phm dq-report`: the report's numbers are the meta tables' numbers, a failed blocking check is reported (and fails
the command with --fail-on-blocking), and the HTML draws its trend charts offline in a real browser, with Great
Expectations' data docs of every gate suite and dbt's docs beside it, styled from local copies."""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest
from typer.testing import CliRunner

from assets.paths import PROJECT_ROOT
from phm.cli import app
from phm.warehouse import open_reader

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)

runner = CliRunner()


def dq_report(*args):
    return runner.invoke(app, ["dq-report", *map(str, args)], catch_exceptions=False)


def test_report_matches_the_meta_tables(published_warehouse, tmp_path):
    result = dq_report("--warehouse", published_warehouse, "--out", tmp_path, "--fail-on-blocking", "--no-dbt-docs")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "summary.json").read_text())
    with open_reader(published_warehouse) as con:
        run_id = con.execute("SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1").fetchall()[0][0]
        feeds = dict(
            con.execute("SELECT feed, rows_quarantined FROM meta.feed_counts WHERE run_id = ?", [run_id]).fetchall()
        )
        quarantined = con.execute(
            """SELECT count(*), sum(rows) FROM meta.quarantine_summary
                                     WHERE run_id = ? AND quarantined AND rows > 0""",
            [run_id],
        ).fetchall()[0]
        checks = con.execute("SELECT count(*) FROM meta.check_results WHERE run_id = ?", [run_id]).fetchall()[0][0]
    assert summary["run_id"] == run_id and summary["published"] and summary["failed_blocking"] == []
    assert {f["feed"]: f["rows_quarantined"] for f in summary["feeds"]} == feeds
    assert (len(summary["quarantine"]), sum(q["rows"] for q in summary["quarantine"])) == quarantined
    assert sum(s["checks"] for s in summary["checks_by_stage"]) == checks
    markdown = (tmp_path / "summary.md").read_text()
    assert f"refresh {run_id}" in markdown and "blocking checks failed: **0**" in markdown


def test_a_blocked_refresh_is_reported_and_fails_the_command(published_warehouse, tmp_path):
    build_file = tmp_path / "blocked.duckdb"
    shutil.copy(published_warehouse, build_file)
    with duckdb.connect(str(build_file)) as con:  # a later run whose gate blocked it, as a build file records it
        con.execute("""INSERT INTO meta.check_results (run_id, stage, feed, rule_id, column_name, check_type, severity,
                           threshold, passed, observed_count, observed_rate, element_count, message, checked_at)
                       VALUES ('blocked-run', 'gate1', 'gp_patients', 'nhs_number_invalid', 'nhs_number',
                               'unexpected_rows', 'block', 0.01, false, 6111, 1.0, 6111, 'every NHS number invalid',
                               now() + INTERVAL 1 DAY)""")
    result = dq_report("--warehouse", build_file, "--out", tmp_path / "report", "--fail-on-blocking", "--no-dbt-docs")
    assert result.exit_code == 1
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["run_id"] == "blocked-run" and not summary["published"]
    assert [(c["feed"], c["rule_id"], c["rows_failing"]) for c in summary["failed_blocking"]] == [
        ("gp_patients", "nhs_number_invalid", 6111)
    ]
    assert (
        "| gate1 | gp_patients | nhs_number_invalid | nhs_number | block | 0.01 | 6111 |"
        in (tmp_path / "report" / "summary.md").read_text()
    )
    page = (tmp_path / "report" / "index.html").read_text()
    assert "not published" in page
    # the blocked run kept no GX results beside this copy, and dbt's docs were not asked for: both said, not hidden
    assert "No Great Expectations validation results were kept for refresh blocked-run" in page
    assert 'data-testid="dbt-docs-missing"' in page and "--no-dbt-docs" in page
    assert dq_report("--warehouse", build_file, "--out", tmp_path / "again", "--no-dbt-docs").exit_code == 0


def test_missing_warehouse_is_named(tmp_path):
    result = dq_report("--warehouse", tmp_path / "absent.duckdb", "--out", tmp_path / "report")
    assert result.exit_code == 2 and "absent.duckdb" in result.output and "phm refresh" in result.output


ONLINE_ASSET = re.compile(r"""<(?:script|link|img)\b[^>]*?(?:src|href)=["']?(?:https?:)?//""", re.I)


def test_html_report_draws_its_charts_offline_with_the_data_docs(published_warehouse, browser, tmp_path):
    out = tmp_path / "report"
    assert dq_report("--warehouse", published_warehouse, "--out", out).exit_code == 0
    index = (out / "index.html").read_text()
    gx_index = out / "gx-data-docs" / "index.html"
    assert 'href="gx-data-docs/index.html"' in index and 'href="dbt-docs/index.html"' in index
    assert gx_index.exists() and (out / "dbt-docs" / "index.html").exists()
    with open_reader(published_warehouse) as con:
        run_id = con.execute("SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1").fetchall()[0][0]
        feeds = [r[0] for r in con.execute("SELECT feed FROM meta.feed_counts WHERE run_id = ?", [run_id]).fetchall()]
        marts = [
            r[0].removeprefix("marts.")
            for r in con.execute(
                "SELECT DISTINCT feed FROM meta.check_results WHERE run_id = ? AND stage = 'gate2'", [run_id]
            ).fetchall()
        ]
    suites = [f"gate1_{f}" for f in feeds] + [f"gate2_{m}" for m in marts]
    assert len(feeds) > 10 and len(marts) > 3
    listed = gx_index.read_text()
    for suite in suites:  # each suite in GX's index, with its own validation page linked from the report
        assert suite in listed, suite
        (page,) = (out / "gx-data-docs" / "validations" / suite / run_id).rglob("*.html")
        assert f'href="{page.relative_to(out).as_posix()}"' in index, suite
    pages = [out / "index.html", out / "dbt-docs" / "index.html", *(out / "gx-data-docs").rglob("*.html")]
    assert [p for p in pages if ONLINE_ASSET.search(p.read_text())] == []  # no script or style from the network
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto((out / "index.html").as_uri())
    for chart in ("rows", "quarantine", "checks_failed", "timings"):
        page.wait_for_selector(f"[data-testid=chart-{chart}][data-rendered=yes] svg")
    assert "Every blocking check passed" in page.get_by_test_id("verdict").inner_text()
    (PROJECT_ROOT / "artifacts").mkdir(exist_ok=True)
    page.screenshot(path=str(PROJECT_ROOT / "artifacts" / "dq_report.png"), full_page=True)
    # GX's pages, reached from the report, styled and scripted by the local copies (bootstrap, jQuery, icons)
    page.get_by_test_id("gx-docs-link").click()
    page.wait_for_selector("table[data-toggle=table] tbody tr")
    assert page.evaluate("() => typeof jQuery.fn.bootstrapTable") == "function"
    (validation,) = (out / "gx-data-docs" / "validations" / "gate1_gp_patients").rglob("*.html")
    page.goto(validation.as_uri())
    page.wait_for_selector(".fa-check-circle, .fa-times")
    assert page.evaluate("() => getComputedStyle(document.querySelector('nav.navbar')).display") == "flex"
    assert page.evaluate("""() => document.fonts.check('900 16px "Font Awesome 6 Free"')""")
    assert "Succeeded" in page.inner_text("body") or "Failed" in page.inner_text("body")
    page.screenshot(path=str(PROJECT_ROOT / "artifacts" / "dq_report_gx_data_docs.png"))
    assert not failed, failed
    page.close()
