"""When the refresh runs: a sensor that starts it when a new drop's manifest lands, and the nightly 02:00 Europe/London
schedule as the backstop. Both start a run only for a drop newer than the published one, so a late drop is still
processed and no drop means no run (the tick records "no new drop"), never a silent republish of yesterday's data.
Both are switchable in `dagster dev`.
"""

from __future__ import annotations

from datetime import date

import dagster as dg

from assets.ingest import complete_drop_dates
from assets.publish import published_extract_date
from orchestration.jobs import nightly_refresh
from orchestration.resources import RefreshSettings

IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED]


def new_drop(settings: RefreshSettings) -> tuple[date | None, str]:
    """The newest complete drop (its manifest has landed) when it is newer than the published refresh, with why."""
    drops = complete_drop_dates(settings.landing)
    published = published_extract_date(settings.warehouse)
    if not drops:
        return None, f"no new drop: no drop with a manifest.json in {settings.landing}"
    newest = drops[-1]
    if published is not None and newest <= published:
        return None, f"no new drop: the newest drop ({newest}) is already published ({settings.warehouse})"
    return newest, f"new drop {newest} (published: {published or 'nothing yet'})"


def refresh_request(
    context: dg.ScheduleEvaluationContext | dg.SensorEvaluationContext, settings: RefreshSettings
) -> dg.RunRequest | dg.SkipReason:
    extract_date, why = new_drop(settings)
    if extract_date is None:
        return dg.SkipReason(why)
    running = context.instance.get_runs(
        filters=dg.RunsFilter(job_name=nightly_refresh.name, statuses=IN_PROGRESS), limit=1
    )
    if running:
        return dg.SkipReason(f"{why}: a refresh is already running ({running[0].run_id})")
    context.log.info(why)
    return dg.RunRequest(
        run_key=f"drop-{extract_date.isoformat()}",
        run_config={"resources": {"settings": {"config": {"extract_date": extract_date.isoformat()}}}},
        tags={"phm/extract_date": extract_date.isoformat()},
    )


@dg.sensor(
    job=nightly_refresh,
    minimum_interval_seconds=300,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts the refresh when a new drop's manifest.json lands in the landing zone (checked every 5 "
    "minutes); one run per drop; skips, saying why, when the newest drop is already published.",
)
def new_drop_sensor(context: dg.SensorEvaluationContext, settings: RefreshSettings) -> dg.RunRequest | dg.SkipReason:
    return refresh_request(context, settings)


@dg.schedule(
    name="nightly_refresh_0200",
    job=nightly_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly refresh of the PHM warehouse at 02:00 from the newest drop, when it is not yet published "
    "(the new-drop sensor usually got there first); otherwise the tick records 'no new drop'.",
)
def nightly_refresh_schedule(
    context: dg.ScheduleEvaluationContext, settings: RefreshSettings
) -> dg.RunRequest | dg.SkipReason:
    return refresh_request(context, settings)
