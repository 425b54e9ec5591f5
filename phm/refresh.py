"""`phm refresh`: run the nightly_refresh job in this process (no daemon) and print a one-screen summary."""

from __future__ import annotations

import contextlib
import json
import textwrap
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assets.paths import identity_path

if TYPE_CHECKING:  # dagster is imported when a refresh runs, not with the CLI
    from dagster import ExecuteInProcessResult


@dataclass
class RefreshOutcome:
    published: bool
    run_id: str
    warehouse: Path
    build_file: Path
    failures: list[str] = field(default_factory=list)
    engine: str = "duckdb"  # where dbt built the models


def run_refresh(
    landing_dir: Path,
    warehouse_path: Path,
    extract_date: date | None,
    console: Console,
    log_level: str = "CRITICAL",
    reference_date: date | None = None,
    engine: str | None = None,
    incremental: bool | None = None,
) -> RefreshOutcome:
    """Dagster's own event log stays quiet (log_level); the summary says what happened and why."""
    import dagster as dg

    from assets.run_lock import release_run_lock
    from orchestration.dbt_project import prepare_if_stale
    from phm.progress import refresh_progress

    # dagster-dbt builds its assets from the manifest when definitions are imported: bring it up to date first.
    with console.status("the dbt project changed since its manifest was prepared: dbt parse ..."):
        prepare_if_stale()
    from orchestration.definitions import build_definitions
    from orchestration.resources import RefreshSettings

    settings = RefreshSettings(
        landing_dir=str(landing_dir),
        warehouse_path=str(warehouse_path),
        extract_date=extract_date.isoformat() if extract_date else "",
        reference_date=reference_date.isoformat() if reference_date else "",
        engine=engine or "",
        incremental=incremental,
    )
    started = time.time()
    log_path = warehouse_path.parent / "logs" / "last_refresh.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # The bar writes where the console writes now: stdout is redirected to the log file below.
    bar_console = Console(file=console.file, force_terminal=console.is_terminal, width=console.width)
    # One instance, entered for the whole run: Dagster reads its definitions-state storage from a context
    # variable the instance sets, so a value left over from an earlier instance in this process is never used.
    with dg.DagsterInstance.ephemeral() as instance:
        steps = len(build_definitions(settings).resolve_job_def("nightly_refresh").nodes)
        # dbt's console output (echoed by dagster-dbt) goes to the log file; the summary below says what matters.
        with (
            refresh_progress(bar_console, steps) as progress_logger,
            open(log_path, "w") as log,
            contextlib.redirect_stdout(log),
        ):
            job = build_definitions(settings, {"progress": progress_logger}).resolve_job_def("nightly_refresh")
            try:
                result = job.execute_in_process(
                    instance=instance,
                    raise_on_error=False,
                    run_config={"loggers": {"console": {"config": {"log_level": log_level}}, "progress": {}}},
                )
            finally:
                release_run_lock(warehouse_path)  # a run that failed before publishing still ends here
    build_file = settings.build_path(result.run_id)
    published = result.success and _published_run(warehouse_path) == result.run_id
    outcome = RefreshOutcome(published, result.run_id, warehouse_path, build_file, engine=settings.engine_or_default)
    if not published:
        outcome.failures = _failures(result, build_file)
    _print_summary(outcome, console, time.time() - started)
    return outcome


def _published_run(warehouse_path: Path) -> str | None:
    if not warehouse_path.exists():
        return None
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        row = con.execute("SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1").fetchall()
    return row[0][0] if row else None


def _failures(result: ExecuteInProcessResult, build_file: Path) -> list[str]:
    """What blocked the refresh: failed blocking checks first (gate 1, dbt tests, gate 2, each with its feed or
    table, check and rows failing), then failed steps."""
    reasons = []
    rows = []
    if build_file.exists():
        try:
            with duckdb.connect(str(build_file), read_only=True) as con:
                rows = con.execute(
                    """SELECT stage, feed, rule_id, column_name, observed_count, message
                                      FROM meta.check_results
                                      WHERE run_id = ? AND NOT passed AND severity = 'block'
                                      ORDER BY CASE stage WHEN 'gate1' THEN 1 WHEN 'dbt' THEN 2 ELSE 3 END,
                                               feed, rule_id, column_name""",
                    [result.run_id],
                ).fetchall()
        except duckdb.Error as e:
            reasons.append(f"could not read the gate results from {build_file}: {e}")
    not_run = 0
    for stage, table, rule, column, failing, message in rows:
        column_text = f" column {column}" if column else ""
        failing_text = f" ({failing:,} rows failing)" if failing else ""
        if stage == "gate1":
            reasons.append(f"gate 1 blocked feed {table}: rule {rule}{column_text}: {message}")
        elif stage == "gate2":
            reasons.append(f"gate 2 blocked table {table}: check {rule}{failing_text}: {message}")
        elif message.startswith(("skipped", "did not run")):
            not_run += 1  # downstream of a failure: counted, not listed
        else:
            reasons.append(f"dbt test blocked table {table}: test {rule}{column_text}{failing_text}: {message}")
    if not_run:
        reasons.append(f"{not_run} other blocking dbt test(s) skipped or did not run")
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            while error is not None and error.cause is not None:  # the user-code error, not Dagster's wrapper
                error = error.cause
            text = error_summary(error.message) if error else "failed"
            if not any(text and text in r for r in reasons):
                reasons.append(f"step {event.step_key} failed: {text}")
    if not reasons:
        reasons.append("the run did not publish (see the Dagster events above)")
    return reasons


def error_summary(message: str) -> str:
    """The line of an error that says what went wrong. dbt's ends with its SQL echo (`LINE 3: ...` and a caret
    line): its node and the database's error are the last 'Error in' line and the one after it; any other error
    ends with its one-line message."""
    lines = [line.strip() for line in message.strip().splitlines()]
    useful = [line for line in lines if line and not set(line) <= set("^ ") and not line.startswith("LINE ")]
    for i in range(len(useful) - 1, -1, -1):
        if "Error in " in useful[i]:
            return " ".join(useful[i : i + 2])
    return useful[-1] if useful else "failed"


def _format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "suppressed"
    return f"{value:.1f}%" if unit == "percent" else f"{value:.1f}/1000"


def _headline_indicators(con: duckdb.DuckDBPyConnection) -> list[tuple[str, ...]]:
    rows = con.execute("""
        SELECT indicator_id, value_unit,
               max(CASE WHEN breakdown = 'all' THEN value END),
               max(CASE WHEN breakdown = 'core20' AND breakdown_value = 'Core20' THEN value END),
               max(CASE WHEN breakdown = 'core20' AND breakdown_value = 'Rest' THEN value END),
               max(CASE WHEN breakdown = 'all' THEN denominator END),
               max(national_ambition),
               max(direction),
               max(national_definition_id)
        FROM marts.core20plus5_indicators
        WHERE geography_level = 'icb' AND breakdown IN ('all', 'core20')
        GROUP BY indicator_id, value_unit ORDER BY indicator_id""").fetchall()

    # The indicator cell: the id, then its denominator and which way is better (lower for admissions, over-reliance).
    def label(ind: str, den: int | None, direction: str | None) -> str:
        better = "higher is better" if direction == "higher_is_better" else "lower is better"
        return f"{ind}\n n={den:,}, {better}" if den is not None else f"{ind}\n {better}"

    return [
        (
            label(ind, den, direction),
            _format_value(v_all, unit),
            _format_value(v_core20, unit),
            _format_value(v_rest, unit),
            "" if ambition is None else f"{ambition:g}%",
            definition or "",
        )
        for ind, unit, v_all, v_core20, v_rest, den, ambition, direction, definition in rows
    ]


# Printed under every table that shows rounded values side by side (clinical spec, Disclosure control).
ROUNDING_NOTE = (
    "Counts are rounded to the nearest 5 (1-7 suppressed) and each value is computed from its own rounded "
    "counts, so rounded parts need not add up: the ICB value can lie a fraction of a point outside both "
    "Core20 and the rest."
)


def _list_sizes(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple]]:
    """People on each main target list (reference.target_list_definitions.in_refresh_summary) per neighbourhood."""
    lists = [
        r[0]
        for r in con.execute("""SELECT list_name FROM reference.target_list_definitions
                                          WHERE in_refresh_summary ORDER BY sort_order""").fetchall()
    ]
    if not lists:
        return [], []
    columns = ", ".join(f'count(*) FILTER (WHERE list_name = ?) AS "{name}"' for name in lists)
    rows = con.execute(
        f"""SELECT neighbourhood, {columns}, count(*) FILTER (WHERE new_since_last_refresh) AS new_rows
                           FROM marts.target_lists GROUP BY neighbourhood ORDER BY neighbourhood""",
        lists,
    ).fetchall()
    return lists, rows


def _risk_validation_line(con: duckdb.DuckDBPyConnection, run_id: str) -> str | None:
    from assets.risk_validation import describe

    cursor = con.execute("SELECT * FROM meta.risk_validation WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    return describe(dict(zip(names, rows[0], strict=False))) if rows else None


def _print_summary(outcome: RefreshOutcome, console: Console, seconds: float) -> None:
    if not outcome.published:
        console.print(
            f"[bold red]Refresh BLOCKED[/] (run {outcome.run_id}, {seconds:.0f} s): nothing was published; "
            f"{outcome.warehouse} is unchanged."
        )
        for reason in outcome.failures[:15]:
            console.print(Text(f"  - {reason}"))  # text from source files: never markup
        console.print(f"Build file kept for diagnosis (holds NHS numbers): {outcome.build_file}")
        console.print(f"Full log: {outcome.warehouse.parent / 'logs' / 'last_refresh.log'}")
        return
    with duckdb.connect(str(outcome.warehouse), read_only=True) as con:
        log = con.execute("SELECT * FROM meta.refresh_log WHERE run_id = ?", [outcome.run_id]).fetchall()[0]
        names = [d[0] for d in con.description]
        marts = con.execute("""SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables()
                               WHERE schema_name = 'marts' ORDER BY 1""").fetchall()
        headline = _headline_indicators(con) if any(m[0] == "marts.core20plus5_indicators" for m in marts) else []
        lists, list_rows = _list_sizes(con) if any(m[0] == "marts.target_lists" for m in marts) else ([], [])
        validation = _risk_validation_line(con, outcome.run_id)
    row = dict(zip(names, log, strict=False))
    console.print(
        f"[bold green]Published[/] {outcome.warehouse} (run {outcome.run_id}, extract {row['extract_date']}, "
        f"figures as of {row['reference_date']}, built on {outcome.engine}, "
        f"{seconds:.0f} s); NHS numbers only in {identity_path(outcome.warehouse).name} beside it (owner-only)"
    )
    feeds = Table(title="feeds")
    for col in ("feed", "received", "quarantined", "accepted", "unlinkable"):
        feeds.add_column(col, justify="left" if col == "feed" else "right")
    for f in json.loads(row["feed_counts"]):
        feeds.add_row(
            f["feed"],
            f"{f['rows_received']:,}",
            f"{f['rows_quarantined']:,}",
            f"{f['rows_accepted']:,}",
            f"{f['rows_unlinkable']:,}",
        )
    console.print(feeds)
    checks = json.loads(row["check_summary"])
    console.print(
        "checks: "
        + ", ".join(f"{c['stage']} {c['severity']}: {c['checks'] - c['failed']}/{c['checks']} passed" for c in checks)
    )
    if row.get("pseudonym_key") and "PUBLIC development default" in row["pseudonym_key"]:
        console.print(
            Text(
                "WARNING: person ids were made with the public development pseudonym key: never use it "
                "for real data (set PHM_PSEUDONYM_KEY and PHM_ENV=production)",
                style="bold yellow",
            )
        )
    timings = json.loads(row["stage_timings"])
    grouped: dict[str, float] = {}
    for t in timings:
        stage = t["stage"].split(":")[0]
        grouped[stage] = grouped.get(stage, 0.0) + t["seconds"]
    console.print("stage seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in grouped.items()))
    if outcome.build_file.exists():  # kept until the next refresh
        from assets.incremental import describe

        with duckdb.connect(str(outcome.build_file), read_only=True) as build:
            console.print(Text("this refresh: " + describe(build, outcome.run_id)))
    console.print("tables: " + ", ".join(f"{name} ({rows:,})" for name, rows in marts))
    if headline:
        table = Table(
            title="Core20PLUS5 headline (ICB; Type 1 opt-outs excluded; counts rounded to 5, 1-7 suppressed)",
            caption=ROUNDING_NOTE,
        )
        for col in ("indicator", "all", "Core20", "rest", "ambition"):
            table.add_column(col, justify="left" if col == "indicator" else "right", no_wrap=col != "indicator")
        for indicator_row in headline:
            table.add_row(*indicator_row[:-1])
        console.print(table)
        # The national definition each figure follows, in full (htn_treated_to_target: CVDP007HYP), below the table
        # so a narrow terminal never cuts it.
        console.print(
            "national definitions: " + "; ".join(f"{row[0].splitlines()[0]} = {row[-1]}" for row in headline if row[-1])
        )
    if list_rows:
        table = Table(title="Target lists: people per neighbourhood (main lists; every list in marts.target_lists)")
        table.add_column("neighbourhood", no_wrap=True)
        for name in lists:
            table.add_column("\n".join(textwrap.wrap(name.replace("_", " "), 10)), justify="right", min_width=10)
        table.add_column("new rows\n(all lists)", justify="right")
        for list_row in list_rows:
            table.add_row(list_row[0].removesuffix(" Neighbourhood"), *(f"{n:,}" for n in list_row[1:]))
        # Ten columns do not fit 80: widen this table rather than folding every header.
        wide = Console(
            file=console.file,
            width=max(console.width, 160),
            force_terminal=console.is_terminal,
            no_color=console.no_color,
        )
        wide.print(table)
    if validation:
        console.print(Text("risk validation: " + validation))
    console.print('query it: phm sql "SELECT place, count(*) FROM marts.person GROUP BY place"')
