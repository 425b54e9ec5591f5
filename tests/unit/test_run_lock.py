"""One refresh per warehouse for the whole run: a second one is refused at once, and a killed run leaves no lock."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from rich.console import Console

from assets.run_lock import RefreshRunning, acquire_run_lock, lock_path, release_run_lock
from phm.refresh import run_refresh

HOLD = """
import sys, time
from pathlib import Path
from assets.run_lock import acquire_run_lock
acquire_run_lock(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def other_refresh(tmp_path):
    """Another process holding the run lock of tmp_path/warehouse/phm.duckdb, as a running refresh does."""
    warehouse = tmp_path / "warehouse" / "phm.duckdb"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    yield warehouse, process
    process.kill()
    process.wait()


def test_a_second_refresh_is_refused_while_one_runs(other_refresh):
    warehouse, process = other_refresh
    with pytest.raises(RefreshRunning, match=f"pid {process.pid}"):
        acquire_run_lock(warehouse)


def test_a_killed_refresh_leaves_no_stale_lock(other_refresh):
    warehouse, process = other_refresh
    process.send_signal(signal.SIGKILL)
    process.wait()
    acquire_run_lock(warehouse)
    acquire_run_lock(warehouse)  # re-entrant within the process: the stages of one run share it
    release_run_lock(warehouse)
    assert lock_path(warehouse).exists()


def test_refresh_started_during_another_says_so_and_publishes_nothing(other_refresh, make_drop):
    warehouse, _ = other_refresh
    started = time.time()
    outcome = run_refresh(make_drop(), warehouse, None, Console(quiet=True))
    assert not outcome.published and not warehouse.exists()
    assert any("another refresh" in reason for reason in outcome.failures), outcome.failures
    assert time.time() - started < 120  # refused at the first stage, not after a build
