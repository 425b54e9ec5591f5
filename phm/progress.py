"""Progress bars (rich) for the long commands: generating a drop and running a refresh."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dagster as dg
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


def bar(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


@contextmanager
def generation_progress(console: Console, feeds: int) -> Iterator[Callable[[str], None]]:
    """on_progress for synthetic.generate_drop: one step for simulating the people, one per feed written."""
    with bar(console) as progress:
        task = progress.add_task("simulating the population", total=feeds + 1)

        def advance(done: str) -> None:
            progress.update(task, advance=1, description=f"written {done}" if done != "world" else "feeds")

        yield advance


def step_label(step_key: str) -> str:
    """raw__gp_events_gate1 -> raw/gp_events gate 1; phm_dbt_models -> dbt build."""
    names = {"phm_dbt_models": "dbt build", "gate2_marts": "gate 2", "warehouse__published": "publish"}
    if step_key in names:
        return names[step_key]
    label = step_key.replace("__", "/", 1)
    return label[: -len("_gate1")] + " gate 1" if label.endswith("_gate1") else label


@contextmanager
def refresh_progress(console: Console, steps: int) -> Iterator[dg.LoggerDefinition]:
    """A Dagster logger that moves a bar as the refresh's steps finish (configure it as loggers.progress)."""
    with bar(console) as progress:
        task = progress.add_task("refresh", total=steps)

        class StepEvents(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
                if event is None:
                    return
                if event.event_type_value == "STEP_START":
                    progress.update(task, description=step_label(event.step_key or ""))
                elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                    progress.advance(task)

        @dg.logger
        def progress_logger(_: dg.InitLoggerContext) -> logging.Logger:
            logger = logging.Logger("phm.refresh.progress", logging.DEBUG)
            logger.addHandler(StepEvents())
            return logger

        yield progress_logger
