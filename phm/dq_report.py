"""`phm dq-report`: the data-quality report of the latest refresh, from the warehouse's meta tables.

Writes DIR/index.html (self-contained apart from the vendored vega scripts copied beside it, so it opens from disk
with no internet), DIR/summary.md and DIR/summary.json, and beside them, linked from index.html, Great Expectations'
data docs of the refresh's gate-1 and gate-2 validations (DIR/gx-data-docs/) and dbt's docs of the models
(DIR/dbt-docs/index.html), which open offline too (phm/report_docs.py). Reads any DuckDB file with the meta schema:
the published warehouse, or a build file (warehouse/.build/<run_id>/build.duckdb) to report a refresh that was blocked.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from datetime import date, datetime
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape

from phm.report_docs import DBT_DIR, Docs, dbt_docs, gx_data_docs
from phm.warehouse import open_reader
from phm.web.app import script_json

WEB = Path(__file__).parent / "web"
VENDOR_SCRIPTS = ("vega-6.4.0.min.js", "vega-lite-6.4.3.min.js", "vega-embed-7.3.0.min.js")


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=False)) for r in cur.fetchall()]


def latest_run(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run whose checks were recorded last: a blocked run in a build file is reported, not skipped."""
    rows = con.execute("SELECT run_id FROM meta.check_results ORDER BY checked_at DESC LIMIT 1").fetchall()
    if rows:
        return rows[0][0]
    rows = con.execute("SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1").fetchall()
    return rows[0][0] if rows else None


def collect(con: duckdb.DuckDBPyConnection) -> dict:
    run_id = latest_run(con)
    if run_id is None:
        raise ValueError("the warehouse's meta tables hold no refresh: run `phm refresh` first")
    refresh = _rows(
        con,
        """SELECT run_id, extract_date, reference_date, started_at, published_at, rows_received,
                                   rows_quarantined, rows_accepted, checks_run, checks_failed
                            FROM meta.refresh_log WHERE run_id = ?""",
        [run_id],
    )
    feeds = _rows(
        con,
        """SELECT feed, rows_received, rows_quarantined, rows_accepted, rows_unlinkable,
                                 round(100.0 * rows_quarantined / nullif(rows_received, 0), 3) AS quarantined_percent
                          FROM meta.feed_counts WHERE run_id = ? ORDER BY feed""",
        [run_id],
    )
    quarantine = _rows(
        con,
        """SELECT feed, rule_id, column_name, sum(rows) AS rows
                               FROM meta.quarantine_summary WHERE run_id = ? AND quarantined AND rows > 0
                               GROUP BY ALL ORDER BY feed, rows DESC, rule_id""",
        [run_id],
    )
    checks = _rows(
        con,
        """SELECT stage, feed, rule_id, column_name, check_type, severity, threshold, passed,
                                  observed_count AS rows_failing, observed_rate, element_count, message
                           FROM meta.check_results WHERE run_id = ?
                           ORDER BY passed, stage, feed, rule_id, column_name""",
        [run_id],
    )
    history = _rows(
        con,
        """SELECT run_id, extract_date, published_at, rows_received, rows_quarantined,
                                   checks_run, checks_failed
                            FROM meta.refresh_log ORDER BY published_at""",
    )
    feed_history = _rows(
        con,
        """SELECT f.extract_date, f.feed, f.rows_received,
                                        100.0 * f.rows_quarantined / nullif(f.rows_received, 0) AS quarantined_percent
                                 FROM meta.feed_counts f JOIN meta.refresh_log r USING (run_id)
                                 ORDER BY f.extract_date, f.feed""",
    )
    timings = _rows(
        con,
        """SELECT r.extract_date, split_part(t.stage, ':', 1) AS stage, sum(t.seconds) AS seconds
                            FROM meta.stage_timings t JOIN meta.refresh_log r USING (run_id)
                            GROUP BY ALL ORDER BY 1, 2""",
    )
    failed_blocking = [c for c in checks if not c["passed"] and c["severity"] == "block"]
    return {
        "run_id": run_id,
        "published": bool(refresh and refresh[0]["published_at"]),
        "refresh": refresh[0] if refresh else {},
        "feeds": feeds,
        "quarantine": quarantine,
        "checks": checks,
        "checks_by_stage": _count_by_stage(checks),
        "failed_blocking": failed_blocking,
        "history": history,
        "charts": _trend_charts(history, feed_history, timings),
    }


def _count_by_stage(checks: list[dict]) -> list[dict]:
    stages: dict[str, dict] = {}
    for check in checks:
        entry = stages.setdefault(
            check["stage"], {"stage": check["stage"], "checks": 0, "failed": 0, "failed_blocking": 0}
        )
        entry["checks"] += 1
        entry["failed"] += not check["passed"]
        entry["failed_blocking"] += (not check["passed"]) and check["severity"] == "block"
    return list(stages.values())


def _trend_charts(history: list[dict], feed_history: list[dict], timings: list[dict]) -> dict:
    """Trends across the refreshes in meta's history, one Vega-Lite spec each (points, so one refresh shows)."""

    def line(rows: list[dict], x: str, y: str, title: str, y_title: str, colour: str | None = None) -> dict[str, Any]:
        encoding: dict[str, Any] = {
            "x": alt.X(f"{x}:T", title="extract date"),
            "y": alt.Y(f"{y}:Q", title=y_title, axis=alt.Axis(format=",~f")),
            "tooltip": [alt.Tooltip(f"{x}:T"), alt.Tooltip(f"{y}:Q", format=",.3~f")],
        }
        if colour:
            encoding["color"] = alt.Color(f"{colour}:N", title=colour)
            encoding["tooltip"].append(alt.Tooltip(f"{colour}:N"))
        chart = alt.Chart(alt.Data(values=_jsonable(rows))).mark_line(point=True).encode(**encoding)
        return chart.properties(title=title, width=520, height=220).to_dict()

    return {
        "rows": line(history, "extract_date", "rows_received", "Rows received per refresh", "rows"),
        "quarantine": line(
            feed_history, "extract_date", "quarantined_percent", "Rows quarantined per feed (%)", "% of rows", "feed"
        ),
        "checks_failed": line(history, "extract_date", "checks_failed", "Checks failed per refresh", "checks"),
        "timings": line(timings, "extract_date", "seconds", "Time per stage (s)", "seconds", "stage"),
    }


def _jsonable(rows: list[dict]) -> list[dict]:
    return [{k: v.isoformat() if isinstance(v, (date, datetime)) else v for k, v in r.items()} for r in rows]


def markdown_summary(report: dict, docs: dict[str, Docs] | None = None) -> str:
    refresh = report["refresh"]
    lines = [
        f"# Data-quality report: refresh {report['run_id']}",
        "",
        f"- extract date {refresh.get('extract_date', 'unknown')}, reference date "
        f"{refresh.get('reference_date', 'unknown')}; "
        + (f"published {refresh['published_at']}" if report["published"] else "**not published (blocked)**"),
        f"- blocking checks failed: **{len(report['failed_blocking'])}**",
        "",
        "## Feeds",
        "",
        "| feed | received | quarantined | % | accepted | unlinkable |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for f in report["feeds"]:
        lines.append(
            f"| {f['feed']} | {f['rows_received']:,} | {f['rows_quarantined']:,} | "
            f"{f['quarantined_percent'] or 0:.3f} | {f['rows_accepted']:,} | {f['rows_unlinkable']:,} |"
        )
    lines += ["", "## Checks by stage", "", "| stage | checks | failed | failed and blocking |", "|---|---:|---:|---:|"]
    for s in report["checks_by_stage"]:
        lines.append(f"| {s['stage']} | {s['checks']} | {s['failed']} | {s['failed_blocking']} |")
    for title, doc in (docs or {}).items():
        lines += ["", f"{title}: " + (f"[{doc.index}]({doc.index})" if doc.built else doc.note)]
    failed = [c for c in report["checks"] if not c["passed"]]
    if failed:
        lines += [
            "",
            "## Failed checks",
            "",
            "| stage | feed | rule | column | severity | threshold | rows failing |",
            "|---|---|---|---|---|---:|---:|",
        ]
        for c in failed:
            lines.append(
                f"| {c['stage']} | {c['feed']} | {c['rule_id']} | {c['column_name'] or ''} | "
                f"{c['severity']} | {c['threshold']} | {c['rows_failing']} |"
            )
    return "\n".join(lines) + "\n"


def write_report(warehouse: Path, out_dir: Path, with_dbt_docs: bool = True) -> dict:
    """The report into out_dir; `with_dbt_docs=False` leaves dbt's docs out (the report says so)."""
    with open_reader(warehouse) as con:
        report = collect(con)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = {
        "Great Expectations data docs": gx_data_docs(warehouse, report["run_id"], out_dir),
        "dbt docs": dbt_docs(warehouse, out_dir)
        if with_dbt_docs
        else Docs(built=False, note="left out of this report (--no-dbt-docs); `phm docs` builds them"),
    }
    if not with_dbt_docs:
        shutil.rmtree(out_dir / DBT_DIR, ignore_errors=True)  # an earlier report's, not this one's
    report["docs"] = docs
    (out_dir / "vendor").mkdir(exist_ok=True)
    for script in VENDOR_SCRIPTS:
        shutil.copyfile(WEB / "static" / "vendor" / script, out_dir / "vendor" / script)
    env = Environment(loader=FileSystemLoader(WEB / "templates"), autoescape=select_autoescape(["html"]))
    html = env.get_template("dq_report.html").render(
        report=report,
        warehouse=str(warehouse),
        charts_json=script_json(report["charts"]),
        scripts=VENDOR_SCRIPTS,
        gx=docs["Great Expectations data docs"],
        dbt=docs["dbt docs"],
    )
    (out_dir / "index.html").write_text(html, encoding="utf-8")
    (out_dir / "summary.md").write_text(markdown_summary(report, docs), encoding="utf-8")
    summary = {
        k: report[k]
        for k in ("run_id", "published", "refresh", "feeds", "quarantine", "checks_by_stage", "failed_blocking")
    }
    summary["docs"] = {title: asdict(doc) for title, doc in docs.items()}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return report
