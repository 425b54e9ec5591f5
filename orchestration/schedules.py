"""The nightly schedule: 02:00 Europe/London, after the source extracts land. Switchable in `dagster dev`."""

import dagster as dg

from orchestration.jobs import nightly_refresh

nightly_refresh_schedule = dg.ScheduleDefinition(
    name="nightly_refresh_0200",
    job=nightly_refresh,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly refresh of the PHM warehouse from the latest landing drop.",
)
