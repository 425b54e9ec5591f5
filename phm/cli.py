"""`phm`: generate a synthetic drop, run the refresh in-process, query the published warehouse."""
from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from phm.paths import default_landing_dir, default_warehouse_path, resolve

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Population health management pipeline: synthetic extracts, gated nightly refresh, marts.")
console = Console()

DEFAULT_PATIENTS = 20_000
DEFAULT_SEED = 42


def _parse_date(value: Optional[str], option: str) -> Optional[date]:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date (YYYY-MM-DD)", param_hint=option)


@app.command()
def generate(
    patients: int = typer.Option(DEFAULT_PATIENTS, "--patients", help="Registered people at the extract date."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed"),
    extract_date: str = typer.Option(..., "--extract-date", help="YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", help="Landing directory; the drop goes in OUT/<extract-date>/."),
    defect_rate: float = typer.Option(0.001, "--defect-rate", help="Share of rows per injected defect kind."),
    csv: bool = typer.Option(False, "--csv", help="Write CSV instead of Parquet."),
):
    """Write one synthetic landing drop (every feed of the contract, plus manifest.json)."""
    from assets.synthetic import generate_drop

    day = _parse_date(extract_date, "--extract-date")
    started = time.time()
    with console.status(f"generating {patients:,} patients for {day} ..."):
        manifest = generate_drop(patients, seed, day, resolve(out), defect_rate, "csv" if csv else "parquet")
    table = Table(title=f"drop {resolve(out) / day.isoformat()} ({time.time() - started:.1f} s)")
    table.add_column("feed")
    table.add_column("rows", justify="right")
    for feed, entry in manifest["feeds"].items():
        table.add_row(feed, f"{entry['rows']:,}")
    console.print(table)
    defects = [d for d in manifest.get("defects", []) if d["rule_id"] != "unlinkable"]
    console.print(f"injected defects: {sum(d['rows'] for d in defects):,} rows in {len(defects)} (feed, rule) pairs, "
                  "listed in manifest.json")


@app.command()
def refresh(
    landing: Optional[Path] = typer.Option(None, "--landing", help="Landing directory of <date>/ drops. "
                                           "Omitted: generate the embedded default population first."),
    warehouse: Optional[Path] = typer.Option(None, "--warehouse", help="Published DuckDB file."),
    extract_date: Optional[str] = typer.Option(None, "--extract-date", help="Drop to load (default: the latest)."),
    reference_date: Optional[str] = typer.Option(None, "--reference-date", help="Evaluate every rule as of this date "
                                                 "(default: the extract date), e.g. to rebuild last quarter's figures."),
):
    """Ingest, gate, build and publish; exit 0 only if the warehouse was published."""
    from phm.refresh import run_refresh

    day = _parse_date(extract_date, "--extract-date")
    warehouse_path = resolve(warehouse) if warehouse else default_warehouse_path()
    if landing is None:
        landing_dir = default_landing_dir()
        day = day or date.today()
        if not (landing_dir / day.isoformat() / "manifest.json").exists():
            if os.environ.get("PHM_LANDING_DIR"):
                # A configured landing zone receives real drops: never write synthetic data into it.
                console.print(Text(f"No drop for {day} in PHM_LANDING_DIR={landing_dir}: nothing to refresh "
                                   "(give --extract-date for another drop, or --landing for a synthetic one).",
                                   style="red"))
                raise typer.Exit(1)
            console.print(f"[bold]No --landing given:[/] generating the embedded default population "
                          f"({DEFAULT_PATIENTS:,} patients, seed {DEFAULT_SEED}, extract date {day}) in {landing_dir}")
            generate(patients=DEFAULT_PATIENTS, seed=DEFAULT_SEED, extract_date=day.isoformat(), out=landing_dir,
                     defect_rate=0.001, csv=False)
    else:
        landing_dir = resolve(landing)
    outcome = run_refresh(landing_dir, warehouse_path, day, console,
                          reference_date=_parse_date(reference_date, "--reference-date"))
    raise typer.Exit(0 if outcome.published else 1)


@app.command()
def sql(
    query: Optional[str] = typer.Argument(None, help="One SQL query; omitted: an interactive read-only prompt."),
    warehouse: Optional[Path] = typer.Option(None, "--warehouse"),
    limit: int = typer.Option(50, "--limit", help="Rows to show."),
):
    """Query the published warehouse, read-only (no writing or reading other files, no ATTACH, no extensions)."""
    from phm.readonly import NoWarehouse, open_warehouse

    path = resolve(warehouse) if warehouse else default_warehouse_path()
    try:
        con = open_warehouse(path)
    except NoWarehouse as e:
        console.print(Text(str(e), style="red"))
        raise typer.Exit(2)
    try:
        if query is not None:
            raise typer.Exit(0 if _run_query(con, query, limit) else 1)
        console.print(f"read-only prompt on {path}; end a query with ';', quit with \\q or Ctrl-D")
        buffer = ""
        while True:
            try:
                line = input("phm> " if not buffer else "...> ")
            except EOFError:
                break
            if line.strip() in ("\\q", "quit", "exit"):
                break
            buffer += line + "\n"
            if buffer.strip().endswith(";"):
                _run_query(con, buffer, limit)
                buffer = ""
    finally:
        con.close()


def _run_query(con, query: str, limit: int) -> bool:
    import duckdb

    try:
        cur = con.execute(query)
        if cur.description is None:
            return True
        rows = cur.fetchmany(limit + 1)
        cur.fetchall()  # duckdb 2.0: a partly read result blocks the connection
    except duckdb.Error as e:
        console.print(Text(str(e), style="red"))  # the message may hold [brackets]: never markup
        return False
    table = Table()
    for d in cur.description:
        table.add_column(Text(d[0]))
    for row in rows[:limit]:
        table.add_row(*[Text("" if v is None else str(v)) for v in row])
    console.print(table)
    if len(rows) > limit:
        console.print(f"(first {limit} rows shown; --limit to change)")
    return True


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
