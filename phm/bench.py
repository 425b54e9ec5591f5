"""`phm bench`: time a whole refresh per stage at several population sizes, against the load-once floor.

For each size it generates (and caches under .cache/bench/) a synthetic drop, then in fresh processes:
  * the floor: DuckDB reading every landing file once into a table of a new DuckDB file (read, decode, write);
  * the refresh, with per-stage seconds from meta.stage_timings and the peak memory of the whole process tree
    (the refresh and the dbt processes beside it, sampled with psutil every 0.2 s), overall and per stage;
  * query latency (median and p95 over repeated runs) of what users do: one neighbourhood's list, an indicator by
    IMD quintile for one practice, one person's pathway reasons, each on a cursor of an open warehouse as the web
    page reads it (phm.warehouse.PublishedReader); the web page's main request (a signed-in lead's list page,
    served by `phm serve`'s app on a loopback port); and opening the warehouse (what a one-off reader such as
    `phm lists` or `phm sql` pays once, before its query).
With several engines (`--engines duckdb,spark`) each size is refreshed on each; the targets and the scaling ratio
are judged on the DuckDB refreshes. It writes JSON and a Markdown table (ratios refresh / floor and between the two
largest sizes) with the machine it ran on. Measurements only: nothing here is asserted; tests run it at a small size as a smoke test.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psutil

from assets.paths import PROJECT_ROOT

EXTRACT_DATE = date(2026, 10, 31)
SEED = 42
QUERIES = {
    "neighbourhood_list": """SELECT priority_rank, practice_code, person_id, reasons, recommended_action
        FROM marts.target_lists WHERE list_name = 'your_healthier_futures'
          AND neighbourhood = (SELECT min(neighbourhood) FROM marts.person) ORDER BY priority_rank LIMIT 500""",
    "indicator_by_imd_for_practice": """SELECT indicator_id, breakdown_value, numerator, denominator, value
        FROM marts.core20plus5_indicators WHERE geography_level = 'practice'
          AND geography_code = (SELECT min(practice_code) FROM marts.person) AND breakdown = 'imd_quintile'""",
    "person_pathway_reasons": """SELECT pathway, rag, reasons, next_action FROM marts.pathway_status
        WHERE person_id = (SELECT min(person_id) FROM marts.pathway_status)""",
}
WEB_REQUEST = "web_list_page"
OPEN_WAREHOUSE = "open_warehouse"
MEASURES = [*QUERIES, WEB_REQUEST, OPEN_WAREHOUSE]


@dataclass
class SizeResult:
    patients: int
    engine: str  # where dbt built the models (phm refresh --engine)
    landing_mb: float
    generate_seconds: float | None
    generate_peak_mb: float | None
    floor_seconds: float
    refresh_seconds: float
    refresh_peak_mb: float
    published: bool
    stages: dict[str, float] = field(default_factory=dict)
    stage_peak_mb: dict[str, float] = field(default_factory=dict)
    queries_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    # The same drop re-sent the same day with one feed corrected (resend_drop), refreshed over the published one.
    incremental_seconds: float | None = None
    incremental_published: bool | None = None
    incremental_stages: dict[str, float] = field(default_factory=dict)


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    code: int
    samples: list[tuple[float, float]]  # (epoch seconds, MB of the whole process tree)

    def peak_between(self, start: float, end: float) -> float | None:
        inside = [mb for at, mb in self.samples if start <= at <= end]
        return round(max(inside)) if inside else None


def _run_measured(command: list[str], env: dict | None = None) -> Measured:
    """Run a command; its wall seconds, the peak RSS of its whole process tree in MB (and every sample), exit code."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    samples: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for member in tree:
                    with contextlib.suppress(psutil.Error):
                        total += member.memory_info().rss
                peak = max(peak, total)
                samples.append((time.time(), total / 1e6))
            except psutil.Error:
                pass
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    return Measured(time.perf_counter() - started, peak / 1e6, code, samples)


def _phm(*args: str) -> list[str]:
    return [sys.executable, "-m", "phm.cli", *args]


FLOOR = """
import sys, time, duckdb
from pathlib import Path
drop, out = Path(sys.argv[1]), sys.argv[2]
con = duckdb.connect(out)
for path in sorted(drop.iterdir()):
    reader = {".parquet": "read_parquet", ".csv": "read_csv"}.get(path.suffix)
    if reader:  # the file's path as a parameter, never SQL text
        con.execute(f'CREATE TABLE "{path.stem}" AS SELECT * FROM {reader}(?)', [str(path)])
con.execute("CHECKPOINT")
"""


def bench_size(patients: int, work: Path, query_repeats: int = 20, engine: str = "duckdb") -> SizeResult:
    cache = PROJECT_ROOT / ".cache" / "bench" / f"{patients}-{SEED}"
    landing = cache / "landing"
    drop = landing / EXTRACT_DATE.isoformat()
    generate_seconds = generate_peak = None
    if not (drop / "manifest.json").exists():
        generated = _run_measured(
            _phm(
                "generate",
                "--patients",
                str(patients),
                "--seed",
                str(SEED),
                "--extract-date",
                EXTRACT_DATE.isoformat(),
                "--out",
                str(landing),
            )
        )
        if generated.code:
            raise RuntimeError(f"phm generate failed for {patients} patients")
        generate_seconds, generate_peak = generated.seconds, generated.peak_mb
        # kept beside the cached drop, so a later bench over the same drop still reports how long it took
        (cache / "generate.json").write_text(json.dumps({"seconds": generate_seconds, "peak_mb": generate_peak}))
    elif (cache / "generate.json").exists():
        measured = json.loads((cache / "generate.json").read_text())
        generate_seconds, generate_peak = measured["seconds"], measured["peak_mb"]
    landing_mb = sum(p.stat().st_size for p in drop.iterdir()) / 1e6
    floor_file = work / f"floor-{patients}.duckdb"
    floor_file.unlink(missing_ok=True)
    floor = _run_measured([sys.executable, "-c", FLOOR, str(drop), str(floor_file)])
    if floor.code:
        raise RuntimeError(f"the floor (loading {drop} once into DuckDB) failed with exit code {floor.code}")
    floor_seconds = floor.seconds
    floor_file.unlink(missing_ok=True)
    warehouse = (
        work / (f"warehouse-{patients}" if engine == "duckdb" else f"warehouse-{patients}-{engine}") / "phm.duckdb"
    )
    refresh = _run_measured(
        _phm(
            "refresh",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--extract-date",
            EXTRACT_DATE.isoformat(),
            "--engine",
            engine,
        ),
        env={**os.environ, "PHM_ENV": "development", "PHM_INCREMENTAL": "0"},  # a full one, whatever is published
    )
    result = SizeResult(
        patients,
        engine,
        round(landing_mb, 1),
        generate_seconds,
        generate_peak,
        floor_seconds,
        refresh.seconds,
        refresh.peak_mb,
        published=refresh.code == 0,
    )
    if refresh.code == 0:
        for stage, seconds, peak in stage_times(warehouse, refresh):
            result.stages[stage] = seconds
            if peak is not None:
                result.stage_peak_mb[stage] = peak
        result.queries_ms.update(query_latency(warehouse, query_repeats))
        result.queries_ms[WEB_REQUEST] = _latency(web_list_page_ms(warehouse, work, query_repeats))
        if engine == "duckdb":
            measure_incremental(result, drop, warehouse, work)
    return result


def stage_times(warehouse: Path, refresh: Measured) -> list[tuple[str, float, float | None]]:
    """(stage, seconds, peak MB of all processes during it) of the last published refresh."""
    from phm.warehouse import open_reader

    with open_reader(warehouse) as con:
        run_id = con.execute("SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1").fetchall()[0][0]
        rows = con.execute(
            "SELECT split_part(stage, ':', 1), sum(seconds), epoch(min(started_at)), "
            "max(epoch(started_at) + seconds) FROM meta.stage_timings "
            "WHERE run_id = ? GROUP BY 1 ORDER BY min(started_at)",
            [run_id],
        ).fetchall()
    return [(stage, round(seconds, 2), refresh.peak_between(start, end)) for stage, seconds, start, end in rows]


def measure_incremental(result: SizeResult, drop: Path, warehouse: Path, work: Path) -> None:
    """The incremental refresh: `drop` re-sent the same day with one feed corrected (resend_drop), refreshed over the
    warehouse that published it (the refresh starts from that one's build file, assets/incremental.py)."""
    landing = work / f"resent-{result.patients}"
    shutil.rmtree(landing, ignore_errors=True)
    resend_drop(drop, landing)
    refresh = _run_measured(
        _phm("refresh", "--landing", str(landing), "--warehouse", str(warehouse), "--extract-date", drop.name),
        env={**os.environ, "PHM_ENV": "development"},
    )
    shutil.rmtree(landing, ignore_errors=True)
    result.incremental_published = refresh.code == 0
    result.incremental_seconds = refresh.seconds
    if refresh.code == 0:
        result.incremental_stages = {stage: seconds for stage, seconds, _ in stage_times(warehouse, refresh)}


# The bench's incremental refresh: this feed re-sent the same day without its last RESENT_DAYS days of activity.
RESENT_FEED = "ecds_attendances"
RESENT_DAYS = 7


def resend_drop(drop: Path, landing: Path) -> Path:
    """The same drop re-sent the same day with one feed corrected: the A&E provider withdraws its attendances of
    the last RESENT_DAYS days to the extract date (sent in error) and the feed comes again without them. The other
    files are hard links to the original's (the same bytes); the manifest vouches for the new file. Returns the
    landing folder holding it, for a refresh over a warehouse that published `drop`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from contracts.extracts import file_sha256

    out = landing / drop.name
    out.mkdir(parents=True, exist_ok=False)
    manifest = json.loads((drop / "manifest.json").read_text())
    for path in drop.iterdir():
        if path.name not in ("manifest.json", f"{RESENT_FEED}.parquet"):
            try:
                os.link(path, out / path.name)
            except OSError:  # another file system
                shutil.copy2(path, out / path.name)
    table = pq.read_table(drop / f"{RESENT_FEED}.parquet")
    extract_date = date.fromisoformat(manifest["extract_date"])
    arrival_day = pc.cast(table["arrival_datetime"], "date32")
    withdrawn = pc.and_(
        pc.greater(arrival_day, pa.scalar(extract_date - timedelta(days=RESENT_DAYS), pa.date32())),
        pc.less_equal(arrival_day, pa.scalar(extract_date, pa.date32())),
    )
    table = table.filter(pc.invert(withdrawn))
    resent = out / f"{RESENT_FEED}.parquet"
    pq.write_table(table, resent)
    manifest["feeds"][RESENT_FEED].update(sha256=file_sha256(resent), rows=table.num_rows)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return landing


def query_latency(warehouse: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Each query as a web request runs it (a cursor on the open warehouse, the query, the cursor closed), and the
    open itself as a one-off reader pays it (open, close): the open is a fixed cost of DuckDB starting a database,
    about 50 ms at 1M people, more than the queries."""
    from phm.warehouse import PublishedReader, open_reader

    latency = {OPEN_WAREHOUSE: _latency(_timed_ms(lambda: open_reader(warehouse).close(), repeats))}
    reader = PublishedReader(warehouse)

    def run(sql: str) -> None:
        with reader.cursor() as con:
            con.execute(sql).fetchall()

    try:
        reader.cursor().close()  # the page's first request opens the file; that cost is OPEN_WAREHOUSE's
        for name, sql in QUERIES.items():
            latency[name] = _latency(_timed_ms(functools.partial(run, sql), repeats))
    finally:
        reader.close()
    return latency


def _timed_ms(action: Callable[[], object], repeats: int) -> list[float]:
    """Milliseconds of each of `repeats` calls of action."""
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _latency(timings_ms: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(timings_ms), 1),
        "p95": round(sorted(timings_ms)[int(0.95 * (len(timings_ms) - 1))], 1),
    }


def web_list_page_ms(warehouse: Path, work: Path, repeats: int) -> list[float]:
    """The web page's main request: a lead of the first neighbourhood, signed in, opening the Your Healthier Futures
    list (first page, default sort), through the app `phm serve` runs, under uvicorn on a free loopback port."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    from phm import users
    from phm.lists import slugify
    from phm.warehouse import open_reader
    from phm.web.app import Settings
    from phm.web.background import serving_in_background

    with open_reader(warehouse) as con:
        neighbourhood = con.execute("SELECT min(neighbourhood) FROM marts.person").fetchall()[0][0]
    users_file = work / "bench-users.yaml"
    users_file.unlink(missing_ok=True)
    password = "bench-password-" + os.urandom(8).hex()
    users.add_user(users_file, "bench.lead", neighbourhood, password)
    settings = Settings(
        warehouse=warehouse,
        users_file=users_file,
        audit_log=work / "bench-audit.jsonl",
        secret_key=os.urandom(16).hex(),
    )
    with serving_in_background(settings) as base:
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = urllib.parse.urlencode({"username": "bench.lead", "password": password, "next": "/"}).encode()
        opener.open(f"{base}/login", data=form, timeout=30).read()
        page = f"{base}/n/{slugify(neighbourhood)}/lists/your_healthier_futures"

        def request() -> None:
            with opener.open(page, timeout=30) as response:
                response.read()
                if response.status != 200:
                    raise RuntimeError(f"{page} answered {response.status}")

        return _timed_ms(request, repeats)


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def markdown(results: list[SizeResult], about: dict) -> str:
    lines = [
        f"Machine: {about['cores']} cores, {about['memory_gb']} GB ({about['platform']}).",
        "",
        "| patients | engine | landing MB | generate s | floor s | refresh s | refresh / floor "
        "| peak MB (all processes) | " + " | ".join(f"{q} ms (median / p95)" for q in MEASURES) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(MEASURES),
    ]
    for r in results:
        queries = " | ".join(
            f"{r.queries_ms[q]['median']} / {r.queries_ms[q]['p95']}" if q in r.queries_ms else "-" for q in MEASURES
        )
        generate = f"{r.generate_seconds:.1f}" if r.generate_seconds is not None else "cached"
        lines.append(
            f"| {r.patients:,} | {r.engine} | {r.landing_mb} | {generate} | {r.floor_seconds:.1f} | {r.refresh_seconds:.1f}"
            f"{'' if r.published else ' (not published)'} | {r.refresh_seconds / r.floor_seconds:.1f} "
            f"| {r.refresh_peak_mb:,.0f} | {queries} |"
        )
    incremental = [r for r in results if r.incremental_seconds is not None]
    if incremental:
        lines += [
            "",
            f"Incremental refresh: the same drop re-sent the same day with {RESENT_FEED} corrected (its last "
            f"{RESENT_DAYS} days withdrawn), refreshed over the published one:",
            "",
            "| patients | full refresh s | incremental s | incremental / full | stages (s) |",
            "|---|---|---|---|---|",
        ]
        for r in incremental:
            assert r.incremental_seconds is not None
            lines.append(
                f"| {r.patients:,} | {r.refresh_seconds:.1f} | {r.incremental_seconds:.1f}"
                f"{'' if r.incremental_published else ' (not published)'} "
                f"| {r.incremental_seconds / r.refresh_seconds:.2f} | "
                + ", ".join(f"{k} {v}" for k, v in r.incremental_stages.items())
                + " |"
            )
    stages = sorted({s for r in results for s in r.stages})
    header = "| patients | engine | " + " | ".join(stages) + " |"
    lines += ["", "Seconds per stage:", "", header, "|---|---|" + "---|" * len(stages)]
    for r in results:
        lines.append(f"| {r.patients:,} | {r.engine} | " + " | ".join(str(r.stages.get(s, "")) for s in stages) + " |")
    lines += ["", "Peak MB per stage (all processes of the refresh):", "", header, "|---|---|" + "---|" * len(stages)]
    for r in results:
        lines.append(
            f"| {r.patients:,} | {r.engine} | " + " | ".join(str(r.stage_peak_mb.get(s, "")) for s in stages) + " |"
        )
    lines += ["", "Targets (phm/bench_targets.yaml, issue 15):", "", "| target | limit | measured | verdict |"]
    lines.append("|---|---|---|---|")
    lines += [
        f"| {what} | {limit} | {measured} | {verdict} |" for what, limit, measured, verdict in target_rows(results)
    ]
    # a refresh that failed part way measures nothing whole; the targets and scaling are the DuckDB engine's
    published = [r for r in results if r.published and r.engine == "duckdb"]
    if len(published) >= 2:
        small, large = published[-2], published[-1]
        lines += [
            "",
            f"Scaling {large.patients:,} / {small.patients:,}: refresh time x"
            f"{large.refresh_seconds / small.refresh_seconds:.2f} for x{large.patients / small.patients:.1f} "
            "the people.",
        ]
    return "\n".join(lines) + "\n"


TARGETS = Path(__file__).with_name("bench_targets.yaml")


def _measure(result: SizeResult, path: str) -> float | None:
    if path == "refresh_over_floor":
        return result.refresh_seconds / result.floor_seconds if result.floor_seconds else None
    if path == "incremental_over_full":
        if not result.incremental_published or result.incremental_seconds is None:
            return None
        return result.incremental_seconds / result.refresh_seconds
    value: Any = asdict(result)
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def target_rows(results: list[SizeResult]) -> list[tuple[str, str, str, str]]:
    """(target, limit, measured, verdict) for each target of bench_targets.yaml the run can judge."""
    import yaml

    # a refresh that failed part way measures nothing whole; the targets are the DuckDB engine's (issue 15)
    results = [r for r in results if r.published and r.engine == "duckdb"]
    by_size = {r.patients: r for r in results}
    rows = []
    for target in yaml.safe_load(TARGETS.read_text()):
        limit, unit, sizes = float(target["at_most"]), target["unit"], target["patients"]
        if target["measure"] == "refresh_seconds_ratio":
            small, large = (by_size.get(p) for p in sizes)
            measured = large.refresh_seconds / small.refresh_seconds if small and large else None
        elif sizes == "all":
            values = [_measure(r, target["measure"]) for r in results]
            measured = max((v for v in values if v is not None), default=None)
        else:
            measured = _measure(by_size[sizes], target["measure"]) if sizes in by_size else None
        if measured is None:
            rows.append((target["what"], f"<= {limit:g} {unit}", "not measured", "-"))
            continue
        verdict = "met" if measured <= limit else f"missed by {measured - limit:,.1f} {unit} (x{measured / limit:.1f})"
        rows.append((target["what"], f"<= {limit:g} {unit}", f"{measured:,.1f} {unit}", verdict))
    return rows


def run(sizes: list[int], out_dir: Path, engines: tuple[str, ...] = ("duckdb",)) -> list[SizeResult]:
    out_dir.mkdir(parents=True, exist_ok=True)
    results = [bench_size(size, out_dir, engine=engine) for size in sorted(sizes) for engine in engines]
    about = machine()
    (out_dir / "bench.json").write_text(
        json.dumps({"machine": about, "results": [asdict(r) for r in results]}, indent=2)
    )
    (out_dir / "bench.md").write_text(markdown(results, about))
    return results
