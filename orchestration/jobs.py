"""The one refresh job: every asset and check, run in one process (DuckDB allows one writer per file)."""

import dagster as dg

nightly_refresh = dg.define_asset_job(
    name="nightly_refresh",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,
    description="Ingest the latest landing drop, gate it, build the dbt marts, and publish only if every "
    "blocking check passed.",
)
