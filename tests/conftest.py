"""Shared fixtures (helpers live in tests/helpers/).

`hand_built(reference_date)` is the session's one `dbt build` per reference date on a hand-written raw DuckDB:
the person spine's patients, the golden patients of that date and, on the disclosure date, the disclosure
people. The spine, golden and disclosure tests only read it, so each date is built once per test run.

`generated_refresh` is the session's one generated drop and full refresh (tests/helpers/generated.py), read by the
end-to-end and interface tests; those that change a drop or a warehouse copy it first.

`make test` spreads the tests over one pytest-xdist worker per core (--dist loadgroup). Each worker builds its own
session and module fixtures, so `pytest_collection_modifyitems` below keeps the tests of one shared build on one
worker: every test reading the generated refresh in one group, every test reading a hand-built dbt build in
another, and each other test module together (its module fixtures are built once)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

from tests.helpers.drops import minimal_rows, write_feed, write_manifest

# Fixtures whose build is shared across modules: their readers run on one worker (a group each).
SHARED_BUILD_GROUPS = {
    "generated_refresh": "generated_refresh",
    "published_warehouse": "generated_refresh",  # tests/interfaces/conftest.py: the generated refresh's warehouse
    "hand_built": "hand_built",
    "hand_drop_refresh": "hand_drop_refresh",
}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups in its own hook
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The Spark module is the longest group (two Spark refreshes): first in line, so the other worker runs the rest
    # beside it rather than it running alone at the end. `make test` passes --no-loadscope-reorder, or pytest-xdist
    # would hand out the groups with the most tests first, whatever this order.
    items.sort(key=lambda item: item.get_closest_marker("spark") is None)
    for item in items:
        shared = [group for fixture, group in SHARED_BUILD_GROUPS.items() if fixture in item.fixturenames]
        item.add_marker(pytest.mark.xdist_group(shared[0] if shared else item.nodeid.split("::")[0]))


@pytest.hookimpl(trylast=True)  # after pytest-xdist has (or has not) grouped them
def pytest_collection_finish(session: pytest.Session) -> None:
    if session.config.getoption("loadgroup", default=False) and any("@" not in i.nodeid for i in session.items):
        # pytest-xdist #1386: on pytest >= 9.2 loadgroup silently stops grouping, and every worker would build
        # the shared refreshes again (the suite then takes longer than it runs alone). constraints.txt pins pytest.
        raise pytest.UsageError("pytest-xdist is not grouping the tests (pytest-xdist #1386): pin pytest < 9.2")


@pytest.fixture
def make_drop(tmp_path):
    """make_drop(changes) -> landing dir with one drop; changes: feed -> rows replacing the minimal rows."""

    def _make(
        changes: dict[str, list[dict]] | None = None, extract_date: date = date(2026, 11, 25), fmt: str = "parquet"
    ) -> Path:
        landing = tmp_path / "landing"
        drop = landing / extract_date.isoformat()
        drop.mkdir(parents=True, exist_ok=True)
        rows = minimal_rows(extract_date)
        rows.update(changes or {})
        for feed_name, feed_rows in rows.items():
            write_feed(drop, feed_name, feed_rows, fmt)
        write_manifest(drop, extract_date)
        return landing

    return _make


@dataclass(frozen=True)
class HandBuild:
    db_path: Path  # the build DuckDB (raw + every dbt schema); read it read-only, or copy it to change it
    work: Path  # its folder, with dbt's target/ (manifest.json, run_results.json) and logs/


@pytest.fixture(scope="session")
def hand_built(tmp_path_factory):
    """reference date -> HandBuild, built lazily once per session. The spine's date runs the whole `dbt build`
    (dbt data and unit tests included); other dates build the seeds and models only."""
    from tests.helpers import disclosure, golden
    from tests.helpers.dbt_build import REFERENCE_DATE, run_dbt

    built: dict[str, HandBuild] = {}

    def get(reference_date: str) -> HandBuild:
        if reference_date not in built:
            work = tmp_path_factory.mktemp(f"dbt_hand_built_{reference_date}")
            db_path = work / "build.duckdb"
            cases = {
                cid: p
                for cid, p in golden.CASES.items()
                if cid not in golden.DATA_ERRORS and golden.CASE_REFERENCE_DATES[cid] == reference_date
            }
            with_disclosure = reference_date == disclosure.DISCLOSURE_REFERENCE_DATE
            golden.write_raw(db_path, cases, disclosure.people()[0] if with_disclosure else None)
            if with_disclosure:
                disclosure.write_people(db_path)
            # dbt's own tests (data and unit) run at the spine's date; another date's build is read by the Python
            # tests written for it (golden outputs, disclosure), which check what they need.
            args = ["build"]
            if reference_date != REFERENCE_DATE:
                args += ["--exclude-resource-type", "unit_test", "--exclude-resource-type", "test"]
            result = run_dbt(db_path, work, *args, reference_date=reference_date)
            if result.returncode != 0:
                pytest.fail(
                    f"dbt build failed ({result.returncode}) on the hand-written data of {reference_date} (spine, "
                    f"golden{', disclosure' if with_disclosure else ''}):\n{result.stdout[-6000:]}\n"
                    f"{result.stderr[-2000:]}"
                )
            built[reference_date] = HandBuild(db_path, work)
        return built[reference_date]

    return get


@dataclass(frozen=True)
class GeneratedRefresh:
    landing: Path
    warehouse: Path  # published: read it, or copy it to refresh over it (a blocked refresh leaves it as it is)
    manifest: dict  # the drop's manifest, with the defects the generator injected
    outcome: object  # phm.refresh.RefreshOutcome of the refresh that published it


@pytest.fixture(scope="session")
def generated_refresh(tmp_path_factory):
    from rich.console import Console

    from phm.refresh import run_refresh
    from synthetic import generate_drop
    from tests.helpers.generated import DEFECT_RATE, EXTRACT_DATE, PATIENTS, SEED

    root = tmp_path_factory.mktemp("generated")
    landing, warehouse = root / "landing", root / "warehouse" / "phm.duckdb"
    manifest = generate_drop(PATIENTS, SEED, EXTRACT_DATE, landing, defect_rate=DEFECT_RATE)
    outcome = run_refresh(landing, warehouse, EXTRACT_DATE, Console(quiet=True))
    assert outcome.published, outcome.failures
    return GeneratedRefresh(landing, warehouse, manifest, outcome)


@pytest.fixture(scope="session")
def hand_drop_refresh(tmp_path_factory):
    """`phm refresh --reference-date EARLIER` of the first hand-made drop: one full refresh, read by the gate tests
    (tests/e2e/test_refresh_gates.py) and copied by the recovery tests (tests/e2e/test_recovery.py). The refresh
    with the default reference date, the extract date, is the session's generated refresh."""
    import re

    from typer.testing import CliRunner

    from phm.cli import app
    from tests.helpers.hand_drop import EARLIER, FIRST, HandDropRefresh, Published, add_drop

    root = tmp_path_factory.mktemp("refresh")
    landing, warehouse = root / "landing", root / "warehouse" / "phm.duckdb"
    add_drop(landing, FIRST)
    result = CliRunner().invoke(
        app,
        ["refresh", "--landing", str(landing), "--warehouse", str(warehouse), "--reference-date", EARLIER.isoformat()],
    )
    said = re.search(r"Published .*?\(run ([0-9a-f-]+),", " ".join(result.output.split()))  # the summary line
    return HandDropRefresh(
        root, landing, warehouse, Published(result.exit_code == 0, result.output, said.group(1) if said else None)
    )
