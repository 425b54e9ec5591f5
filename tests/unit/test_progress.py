"""The command line's progress bars follow the work: one step per feed generated, one per refresh step finished."""

from __future__ import annotations

import io

import dagster as dg
from rich.console import Console

from phm.progress import generation_progress, refresh_progress, step_label


def test_step_labels_read_as_stages():
    assert step_label("raw__gp_events_gate1") == "raw/gp_events gate 1"
    assert step_label("raw__person_key") == "raw/person_key"
    assert [step_label(k) for k in ("phm_dbt_models", "gate2_marts", "warehouse__published")] == [
        "dbt build",
        "gate 2",
        "publish",
    ]


def test_the_refresh_bar_advances_once_per_finished_step():
    @dg.op
    def first() -> int:
        return 1

    @dg.op
    def second(x: int) -> int:
        return x + 1

    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with refresh_progress(console, steps=2) as progress_logger:

        @dg.job(logger_defs={"progress": progress_logger})
        def two_steps() -> None:
            second(first())

        assert two_steps.execute_in_process(run_config={"loggers": {"progress": {}}}).success
    # the last frame before the (transient) bar is cleared
    assert "2/2" in console.file.getvalue() and "second" in console.file.getvalue()


def test_the_generation_bar_counts_the_world_and_each_feed():
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with generation_progress(console, feeds=2) as advance:
        for done in ("world", "gp_patients", "gp_events"):
            advance(done)
    assert "3/3" in console.file.getvalue()
