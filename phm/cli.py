"""`phm`: generate a synthetic drop, run the refresh in-process, query the published warehouse."""

from __future__ import annotations

import os
import sys
import time
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, overload

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assets.paths import default_landing_dir, default_warehouse_path, resolve

if TYPE_CHECKING:  # the heavy imports wait for the command that needs them
    import duckdb

    from phm.lists import ListFilters

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Population health management pipeline: synthetic extracts, gated nightly refresh, marts.",
)
console = Console()


def print_error(error: Exception) -> None:
    """An error in red, as plain text (a path or a value may hold [brackets]: never console markup), and never
    broken inside a word, so a path in it can be copied whole."""
    console.print(Text(str(error), style="red"), soft_wrap=True)


# Great Expectations imports PySpark when it is installed (for the spark engine), and PySpark warns at import that
# it does not fully support pandas 3. Nothing here uses PySpark's pandas API, so the warning tells a user nothing.
PYSPARK_PANDAS_WARNING = "PySpark does not yet fully support pandas"


@app.callback()
def _before_any_command() -> None:
    """Before any command: the tools a command starts send no usage statistics (patient data stays here), and
    neither this process nor its children print PySpark's pandas warning."""
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
    warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_WARNING, category=FutureWarning)
    os.environ.setdefault("PYTHONWARNINGS", f"ignore:{PYSPARK_PANDAS_WARNING}:FutureWarning")


DEFAULT_PATIENTS = 20_000
DEFAULT_SEED = 42


@overload
def _parse_date(value: str, option: str) -> date: ...
@overload
def _parse_date(value: str | None, option: str) -> date | None: ...
def _parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO date (YYYY-MM-DD)", param_hint=option) from None


@app.command()
def generate(
    patients: int = typer.Option(DEFAULT_PATIENTS, "--patients", help="Registered people at the extract date."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed"),
    extract_date: str = typer.Option(..., "--extract-date", help="YYYY-MM-DD"),
    out: Path = typer.Option(..., "--out", help="Landing directory; the drop goes in OUT/<extract-date>/."),
    defect_rate: float = typer.Option(0.001, "--defect-rate", help="Share of rows per injected defect kind."),
    csv: bool = typer.Option(False, "--csv", help="Write CSV instead of Parquet."),
    shard: int = typer.Option(
        0,
        "--shard",
        min=0,
        help="Shard K of a population too large for one process: its own people, NHS numbers and ids, none "
        "shared with the other shards of the same --patients and --seed (0: the plain drop). Shards 0..K-1, each "
        "in its own landing directory, together make about K x PATIENTS registered people.",
    ),
) -> None:
    """Write one synthetic landing drop (every feed of the contract, plus manifest.json)."""
    from contracts.extracts import load_contract
    from phm.progress import generation_progress
    from synthetic import generate_drop

    day = _parse_date(extract_date, "--extract-date")
    started = time.time()
    with generation_progress(console, len(load_contract())) as on_progress:
        manifest = generate_drop(
            patients,
            seed,
            day,
            resolve(out),
            defect_rate,
            "csv" if csv else "parquet",
            on_progress=on_progress,
            shard=shard,
        )
    table = Table(title=f"drop {resolve(out) / day.isoformat()} ({time.time() - started:.1f} s)")
    table.add_column("feed")
    table.add_column("rows", justify="right")
    for feed, entry in manifest["feeds"].items():
        table.add_row(feed, f"{entry['rows']:,}")
    console.print(table)
    defects = [d for d in manifest.get("defects", []) if d["rule_id"] not in ("unlinkable", "duplicate_row")]
    console.print(
        f"injected defects: {sum(d['rows'] for d in defects):,} rows in {len(defects)} (feed, rule) pairs, "
        "listed in manifest.json"
    )


@app.command()
def calibrate(
    patients: int = typer.Option(100_000, "--patients", help="Registered people in the drop the figures come from."),
    seed: int = typer.Option(DEFAULT_SEED, "--seed"),
    extract_date: str = typer.Option("2026-11-30", "--extract-date", help="YYYY-MM-DD"),
    out: Path = typer.Option(Path("calibration"), "--out", help="Where the drop and calibration.md / .json go."),
) -> None:
    """Generate a clean drop and compare every C&P calibration figure with its target; exit 1 if any is out."""
    from synthetic import generate_drop
    from synthetic.calibration import compute, write_report

    day = _parse_date(extract_date, "--extract-date")
    out_dir = resolve(out)
    started = time.time()
    with console.status(f"generating {patients:,} patients for {day} ..."):
        generate_drop(patients, seed, day, out_dir / "landing", defect_rate=0.0)
    rows = compute(out_dir / "landing" / day.isoformat())
    table = Table(
        title=f"calibration: {patients:,} patients, seed {seed}, extract {day} ({time.time() - started:.0f} s)"
    )
    for column in ("figure", "target", "tolerance", "value", "verdict"):
        table.add_column(column, justify="right" if column in ("value", "target") else "left")
    for r in rows:
        table.add_row(
            r.figure,
            r.target,
            r.tolerance,
            f"{r.value:,.2f}" if r.value is not None else "-",
            r.verdict if r.verdict == "ok" else f"[red]{r.verdict}[/red]",
        )
    console.print(table)
    md, js = write_report(
        rows,
        out_dir,
        f"Calibration, {patients:,} patients, seed {seed}, extract {day}",
        {"patients": patients, "seed": seed, "extract_date": day.isoformat()},
    )
    console.print(f"report: {md} and {js}")
    raise typer.Exit(0 if all(r.verdict == "ok" for r in rows) else 1)


@app.command()
def refresh(
    landing: Path | None = typer.Option(
        None,
        "--landing",
        help="Landing directory of <date>/ drops. Omitted: generate the embedded default population first.",
    ),
    warehouse: Path | None = typer.Option(None, "--warehouse", help="Published DuckDB file."),
    extract_date: str | None = typer.Option(None, "--extract-date", help="Drop to load (default: the latest)."),
    reference_date: str | None = typer.Option(
        None,
        "--reference-date",
        help="Evaluate every rule as of this date (default: the extract date), e.g. to rebuild last quarter's figures.",
    ),
    engine: str | None = typer.Option(
        None,
        "--engine",
        help="Where dbt builds the models: duckdb (default, or PHM_ENGINE) or spark (dbt-spark, the profile's spark "
        "output; the marts land in the same DuckDB warehouse).",
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="Read every feed and build every model again, even when the last published refresh had the same "
        "reference date and pipeline (by default such a refresh keeps what the drop did not change; also "
        "PHM_INCREMENTAL=0).",
    ),
) -> None:
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
                console.print(
                    Text(
                        f"No drop for {day} in PHM_LANDING_DIR={landing_dir}: nothing to refresh "
                        "(give --extract-date for another drop, or --landing for a synthetic one).",
                        style="red",
                    )
                )
                raise typer.Exit(1)
            console.print(
                f"[bold]No --landing given:[/] generating the embedded default population "
                f"({DEFAULT_PATIENTS:,} patients, seed {DEFAULT_SEED}, extract date {day}) in {landing_dir}"
            )
            generate(
                patients=DEFAULT_PATIENTS,
                seed=DEFAULT_SEED,
                extract_date=day.isoformat(),
                out=landing_dir,
                defect_rate=0.001,
                csv=False,
                shard=0,  # called as a function, so every option needs a value: typer's defaults are not values
            )
    else:
        landing_dir = resolve(landing)
    from orchestration.resources import ENGINES

    if engine is not None and engine not in ENGINES:
        print_error(ValueError(f"--engine must be one of {', '.join(ENGINES)}, got {engine!r}"))
        raise typer.Exit(2)
    outcome = run_refresh(
        landing_dir,
        warehouse_path,
        day,
        console,
        reference_date=_parse_date(reference_date, "--reference-date"),
        engine=engine,
        incremental=False if full else None,
    )
    raise typer.Exit(0 if outcome.published else 1)


@app.command()
def sql(
    query: str | None = typer.Argument(None, help="One SQL query; omitted: an interactive read-only prompt."),
    warehouse: Path | None = typer.Option(None, "--warehouse"),
    limit: int = typer.Option(50, "--limit", help="Rows to show."),
) -> None:
    """Query the published warehouse, read-only (no writing or reading other files, no ATTACH, no extensions)."""
    from phm.warehouse import WarehouseMissing, open_reader

    path = resolve(warehouse) if warehouse else default_warehouse_path()
    try:
        con = open_reader(path)
    except WarehouseMissing as e:
        print_error(e)
        raise typer.Exit(2) from None
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


def _run_query(con: duckdb.DuckDBPyConnection, query: str, limit: int) -> bool:
    import duckdb

    try:
        cur = con.execute(query)
        if cur.description is None:
            return True
        rows = cur.fetchmany(limit + 1)
        cur.fetchall()  # duckdb 2.0: a partly read result blocks the connection
    except duckdb.Error as e:
        print_error(e)
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


@app.command()
def bench(
    sizes: str = typer.Option("100000,1000000,3000000", "--sizes", help="Comma-separated population sizes."),
    out: Path = typer.Option(Path("bench"), "--out", help="Folder for bench.json, bench.md and the warehouses."),
    engines: str = typer.Option(
        "duckdb", "--engines", help="Comma-separated engines to refresh each size on: duckdb, spark (slower here)."
    ),
) -> None:
    """Time a refresh per stage and its peak memory at each size, against the load-once floor; query latency."""
    from orchestration.resources import ENGINES
    from phm.bench import machine, markdown, run

    chosen_engines = tuple(e.strip() for e in engines.split(",") if e.strip())
    if not chosen_engines or any(e not in ENGINES for e in chosen_engines):
        raise typer.BadParameter(f"{engines!r}: give engines from {', '.join(ENGINES)}", param_hint="--engines")

    try:
        chosen = [int(s.replace("_", "")) for s in sizes.split(",") if s.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"{sizes!r} is not a comma-separated list of whole numbers", param_hint="--sizes"
        ) from None
    results = run(chosen, resolve(out), chosen_engines)
    console.print(Text(markdown(results, machine())))
    console.print(f"written: {resolve(out) / 'bench.json'}, {resolve(out) / 'bench.md'}")
    raise typer.Exit(0 if all(r.published for r in results) else 1)


LIST_FORMATS = ("table", "csv", "parquet")
SHOW_CHOICES = ("lists", "neighbourhoods")


def _warehouse_reader(warehouse: Path | None, identity: bool = False) -> duckdb.DuckDBPyConnection:
    from phm.warehouse import IdentityMissing, WarehouseMissing, open_reader

    path = resolve(warehouse) if warehouse else default_warehouse_path()
    try:
        return open_reader(path, identity=identity)
    except (WarehouseMissing, IdentityMissing) as e:
        print_error(e)
        raise typer.Exit(2) from None


def _match_neighbourhood(con: duckdb.DuckDBPyConnection, wanted: str) -> str:
    """Accept the exact name, any capitalisation, or the web page's slug (wisbech-neighbourhood)."""
    from phm.lists import neighbourhoods, slugify

    known = neighbourhoods(con)
    for name in known:
        if wanted.lower() == name.lower() or slugify(wanted) == slugify(name):
            return name
    raise typer.BadParameter(
        f"no neighbourhood called {wanted!r}; `phm lists --show neighbourhoods` lists them",
        param_hint="--neighbourhood",
    )


@app.command("lists")
def lists_command(
    neighbourhood: str | None = typer.Option(
        None, "--neighbourhood", "-n", help="Integrated neighbourhood (name or slug); required unless --show."
    ),
    list_name: str = typer.Option("your_healthier_futures", "--list", "-l", help="Target list (--show lists)."),
    show: str | None = typer.Option(
        None, "--show", help="'lists' (with sizes and movement when --neighbourhood is given) or 'neighbourhoods'."
    ),
    practice: str | None = typer.Option(None, "--practice", help="Practice code (ODS)."),
    rag: str | None = typer.Option(None, "--rag", help="Red, Amber or Green (pathway lists)."),
    tier: str | None = typer.Option(None, "--tier", help="Risk tier: 'Very high', High, Medium or Low."),
    core20: str | None = typer.Option(None, "--core20", help="yes: Core20 only; no: everyone else."),
    ethnicity: str | None = typer.Option(None, "--ethnicity", help="Ethnicity group, e.g. 'Asian or Asian British'."),
    age_band: str | None = typer.Option(None, "--age-band", help="0-17, 18-39, 40-59, 60-79 or 80+."),
    new_only: bool = typer.Option(False, "--new-only", help="Only people new on the list since the last refresh."),
    sort: str = typer.Option("priority", "--sort", help="priority, new_first, risk_score, practice or age_band."),
    limit: int | None = typer.Option(None, "--limit", help="Rows (default 20 for a table, all for csv/parquet)."),
    output_format: str = typer.Option("table", "--format", "-f", help="table, csv or parquet."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write here (csv: default standard output; parquet: required)."
    ),
    with_nhs_number: bool = typer.Option(
        False,
        "--with-nhs-number",
        help="Add the NHS number for direct care (csv/parquet only); the export is written to the audit log.",
    ),
    warehouse: Path | None = typer.Option(None, "--warehouse"),
) -> None:
    """Show or export a neighbourhood's target list: who, why, and what to do."""
    import getpass

    from phm import audit
    from phm import lists as target_lists
    from phm.warehouse import published_refresh

    if output_format not in LIST_FORMATS:
        raise typer.BadParameter(f"choose one of {', '.join(LIST_FORMATS)}", param_hint="--format")
    if show is not None and show not in SHOW_CHOICES:
        raise typer.BadParameter(f"choose one of {', '.join(SHOW_CHOICES)}", param_hint="--show")
    if sort not in target_lists.SORT_ORDERS:
        raise typer.BadParameter(f"choose one of {', '.join(target_lists.SORT_ORDERS)}", param_hint="--sort")
    if rag is not None and rag not in target_lists.RAG_VALUES:
        raise typer.BadParameter(f"choose one of {', '.join(target_lists.RAG_VALUES)}", param_hint="--rag")
    if tier is not None and tier not in target_lists.TIER_VALUES:
        raise typer.BadParameter(f"choose one of {', '.join(target_lists.TIER_VALUES)}", param_hint="--tier")
    if core20 is not None and core20 not in ("yes", "no"):
        raise typer.BadParameter("yes or no", param_hint="--core20")
    if output_format == "parquet" and out is None:
        raise typer.BadParameter("parquet needs a file to write to", param_hint="--out")
    if with_nhs_number and output_format == "table":
        raise typer.BadParameter(
            "NHS numbers are exported to a file (--format csv or parquet), never shown", param_hint="--with-nhs-number"
        )

    with _warehouse_reader(warehouse, identity=with_nhs_number) as con:
        name = _match_neighbourhood(con, neighbourhood) if neighbourhood else None
        if show == "neighbourhoods":
            for hood in target_lists.neighbourhoods(con):
                console.print(hood, highlight=False)
            return
        if show == "lists":
            _print_catalogue(target_lists.list_catalogue(con, name), name)
            return
        if name is None:
            raise typer.BadParameter(
                "which neighbourhood? `phm lists --show neighbourhoods` lists them", param_hint="--neighbourhood"
            )
        try:
            target_lists.check_names(con, name, list_name)
        except target_lists.UnknownName as e:
            raise typer.BadParameter(str(e), param_hint="--list") from None
        filters = target_lists.ListFilters(
            practice=practice,
            rag=rag,
            tier=tier,
            core20=None if core20 is None else core20 == "yes",
            ethnicity=ethnicity,
            age_band=age_band,
            new_only=new_only,
        )
        if limit is None and output_format == "table":
            limit = 20
        columns, rows = target_lists.fetch_rows(
            con, name, list_name, filters, sort, limit=limit, identifiable=with_nhs_number
        )
        total = target_lists.count_rows(con, name, list_name, filters)
        moved = target_lists.movement(con, name, list_name, practice)
        run_id = published_refresh(con).get("run_id")

    if with_nhs_number:
        audit.record_export(
            audit.default_audit_path(),
            user=getpass.getuser(),
            channel="cli",
            neighbourhood=name,
            list_name=list_name,
            filters=filters.active(),
            rows=len(rows),
            identifiable=True,
            run_id=run_id,
        )
    if output_format == "table":
        _print_list(name, list_name, columns, rows, total, moved, filters)
    elif output_format == "csv":
        _write_csv(columns, rows, out)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        assert out is not None  # parquet without --out is refused above
        resolve(out).parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist([dict(zip(columns, r, strict=False)) for r in rows]), resolve(out))
    if out is not None:
        console.print(f"wrote {len(rows):,} rows of {list_name} ({name}) to {resolve(out)}", highlight=False)


def _print_catalogue(catalogue: list[dict], neighbourhood: str | None) -> None:
    table = Table(title=f"target lists{f' in {neighbourhood}' if neighbourhood else ''}", title_justify="left")
    table.add_column("list", no_wrap=True)
    table.add_column("who is on it", ratio=3)
    if neighbourhood:
        for heading in ("people", "new", "left"):
            table.add_column(heading, justify="right")
    for entry in catalogue:
        cells = [entry["list_name"], entry["purpose"] or ""]
        if neighbourhood:
            cells += [f"{entry['list_size']:,}", f"+{entry['new_since_last']:,}", f"-{entry['left_since_last']:,}"]
        table.add_row(*cells)
    console.print(table)


def _print_list(
    neighbourhood: str,
    list_name: str,
    columns: list[str],
    rows: list[tuple],
    total: int,
    moved: dict,
    filters: ListFilters,
) -> None:
    where = ", ".join(f"{k}={v}" for k, v in filters.active().items())
    table = Table(
        title=f"{list_name}: {neighbourhood}{f' ({where})' if where else ''}",
        title_justify="left",
        caption=f"{total:,} match; list size {moved['list_size']:,}, +{moved['new_since_last']:,} new and "
        f"-{moved['left_since_last']:,} left since the last refresh",
        caption_justify="left",
        show_lines=True,
    )
    # Short columns never wrap (a person's ID must stay whole); the reasons and the action take the rest.
    for heading in ("#", "new", "practice", "person", "tier", "RAG", "age"):
        table.add_column(heading, justify="right" if heading == "#" else "left", no_wrap=True)
    table.add_column("why", ratio=3, overflow="fold")
    table.add_column("what to do", ratio=2, overflow="fold")
    index = {c: i for i, c in enumerate(columns)}
    for r in rows:
        rag = r[index["rag"]] or ""
        colour = {"Red": "red", "Amber": "yellow", "Green": "green"}.get(rag)
        table.add_row(
            str(r[index["priority_rank"]]),
            "[bold green]NEW[/]" if r[index["new_since_last_refresh"]] else "",
            r[index["practice_code"]],
            r[index["person_id"]][:10],
            r[index["risk_tier"]] or "",
            f"[{colour}]{rag}[/]" if colour else rag,
            r[index["age_band"]] or "",
            (r[index["reasons"]] or "").replace("; ", "\n"),
            r[index["recommended_action"]] or "",
        )
    console.print(table)
    if total > len(rows):
        console.print(f"(first {len(rows)} of {total:,}; --limit to see more, --format csv to export)")


def _write_csv(columns: list[str], rows: list[tuple], out: Path | None) -> None:
    from phm.lists import write_csv

    if out is None:
        write_csv(sys.stdout, columns, rows)
        return
    path = resolve(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        write_csv(handle, columns, rows)


users_app = typer.Typer(no_args_is_help=True, help="Who may sign in to `phm serve` (config/users.yaml).")
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="Lower-case, e.g. jo.smith"),
    neighbourhood: str = typer.Option(..., "--neighbourhood", "-n", help="The one neighbourhood they may see."),
    users_file: Path | None = typer.Option(None, "--users-file", help="Default: PHM_USERS_FILE or config/users.yaml."),
    warehouse: Path | None = typer.Option(None, "--warehouse", help="Checked for the neighbourhood's name."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (for scripts) instead of prompting."
    ),
) -> None:
    """Add a user bound to one neighbourhood (or reset their password); the password is stored scrypt-hashed."""
    from phm import users

    with _warehouse_reader(warehouse) as con:
        name = _match_neighbourhood(con, neighbourhood)
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    path = resolve(users_file) if users_file else users.default_users_path()
    try:
        users.add_user(path, username, name, password)
    except ValueError as e:
        print_error(e)
        raise typer.Exit(2) from None
    console.print(f"{username} may now sign in for {name} ({path})", highlight=False)


@users_app.command("list")
def users_list(users_file: Path | None = typer.Option(None, "--users-file")) -> None:
    """Who may sign in, and to which neighbourhood."""
    from phm import users

    path = resolve(users_file) if users_file else users.default_users_path()
    entries = users.load_users(path)
    if not entries:
        console.print(f"no users in {path}: add one with `phm users add USERNAME --neighbourhood NAME`")
        return
    for username, entry in sorted(entries.items()):
        console.print(f"{username}\t{entry['neighbourhood']}", highlight=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on (default: this machine only)."),
    port: int = typer.Option(8050, "--port"),
    warehouse: Path | None = typer.Option(None, "--warehouse"),
    users_file: Path | None = typer.Option(None, "--users-file", help="Default: PHM_USERS_FILE or config/users.yaml."),
    audit_log: Path | None = typer.Option(None, "--audit-log", help="Default: PHM_AUDIT_LOG or audit/exports.jsonl."),
) -> None:
    """Serve the neighbourhood web page over the published warehouse, read-only."""
    import uvicorn

    from phm import audit, users
    from phm.web.app import Settings, create_app, new_secret_key

    warehouse_path = resolve(warehouse) if warehouse else default_warehouse_path()
    users_path = resolve(users_file) if users_file else users.default_users_path()
    if not warehouse_path.exists():
        console.print(
            f"[yellow]No published warehouse at {warehouse_path} yet: pages answer 503 until "
            f"`phm refresh` publishes one.[/]"
        )
    if not users.load_users(users_path):
        console.print(
            f"[yellow]No users in {users_path}: add one with `phm users add USERNAME --neighbourhood NAME`.[/]"
        )
    # A fixed key keeps people signed in across restarts; without one, each start signs everyone out.
    secret = os.environ.get("PHM_WEB_SECRET") or new_secret_key()
    settings = Settings(
        warehouse=warehouse_path,
        users_file=users_path,
        audit_log=resolve(audit_log) if audit_log else audit.default_audit_path(),
        secret_key=secret,
    )
    console.print(
        f"serving {warehouse_path} on http://{host}:{port}/ (users {users_path}, audit log {settings.audit_log})",
        highlight=False,
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@app.command()
def docs(
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the documentation (default: docs/ beside the warehouse)."
    ),
    warehouse: Path | None = typer.Option(
        None,
        "--warehouse",
        help="Where the column types are read from (a temporary copy; the warehouse is never written).",
    ),
    serve_it: bool = typer.Option(False, "--serve", help="Then serve the folder on http://HOST:PORT/."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8081, "--port"),
) -> None:
    """Build dbt's documentation of the models and columns (static_index.html opens from disk), optionally serve it."""
    from phm.docs import build_docs, serve_docs, undocumented_columns
    from phm.warehouse import WarehouseMissing

    path = resolve(warehouse) if warehouse else default_warehouse_path()
    out_dir = resolve(out) if out else path.parent / "docs"
    try:
        with console.status("dbt parse and docs generate ..."):
            page = build_docs(path, out_dir)
    except (WarehouseMissing, RuntimeError) as e:
        print_error(e)
        raise typer.Exit(2) from None
    console.print(f"documentation: {page} (open it in a browser)", highlight=False)
    for model, columns in undocumented_columns(out_dir).items():
        console.print(f"[yellow]marts.{model}: no description for {', '.join(columns)}[/]")
    if serve_it:
        console.print(f"serving {out_dir} on http://{host}:{port}/ ; Ctrl-C stops it", highlight=False)
        serve_docs(out_dir, host, port)


@app.command("dq-report")
def dq_report(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Folder for index.html, summary.md and summary.json (default: dq_report/ beside the warehouse).",
    ),
    warehouse: Path | None = typer.Option(
        None,
        "--warehouse",
        help="The published warehouse, or a build file (warehouse/.build/<run_id>/build.duckdb) to report a blocked refresh.",
    ),
    fail_on_blocking: bool = typer.Option(
        False, "--fail-on-blocking", help="Exit 1 if a blocking check failed (for CI)."
    ),
    with_dbt_docs: bool = typer.Option(
        True, "--dbt-docs/--no-dbt-docs", help="Build dbt's docs of the models into DIR/dbt-docs (some 20 s)."
    ),
) -> None:
    """Render the latest refresh's data-quality report: rows in and quarantined per feed and rule, every check
    with its status, threshold and rows failing, trends across earlier refreshes, and beside it Great Expectations'
    data docs of the gates' validations and dbt's docs of the models (all open offline)."""
    from phm.dq_report import write_report
    from phm.warehouse import WarehouseMissing

    path = resolve(warehouse) if warehouse else default_warehouse_path()
    out_dir = resolve(out) if out else path.parent / "dq_report"
    try:
        with console.status("data-quality report, GX data docs" + (" and dbt docs ..." if with_dbt_docs else " ...")):
            report = write_report(path, out_dir, with_dbt_docs)
    except (WarehouseMissing, ValueError) as e:
        print_error(e)
        raise typer.Exit(2) from None
    blocking = report["failed_blocking"]
    console.print(
        f"data-quality report of refresh {report['run_id']}: {len(report['checks'])} checks, "
        f"{sum(not c['passed'] for c in report['checks'])} failed, {len(blocking)} blocking; "
        f"{out_dir / 'index.html'} (and summary.md, summary.json)",
        highlight=False,
    )
    for title, doc in report["docs"].items():
        if doc.built and doc.offline_missing:
            missing = ", ".join(doc.offline_missing)
            console.print(f"{title}: not available offline, left out: {missing}", style="yellow", markup=False)
        elif not doc.built:
            console.print(f"{title}: {doc.note}", style="yellow", markup=False, highlight=False)
    raise typer.Exit(1 if blocking and fail_on_blocking else 0)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
