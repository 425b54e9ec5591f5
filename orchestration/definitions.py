"""The one Definitions object of the pipeline (workspace.yaml points here)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from orchestration.assets import RAW_FEEDS, build_database, person_key, published_warehouse_asset
from orchestration.dbt import dbt_resource, phm_dbt_models, risk_validation
from orchestration.gate2 import gate2_checks
from orchestration.jobs import nightly_refresh
from orchestration.resources import RefreshSettings
from orchestration.schedules import new_drop_sensor, nightly_refresh_schedule

published_warehouse = published_warehouse_asset([*phm_dbt_models.keys, *risk_validation.keys])
gate2_marts = gate2_checks(phm_dbt_models.keys)


def build_definitions(
    settings: RefreshSettings | None = None, extra_loggers: Mapping[str, dg.LoggerDefinition] | None = None
) -> dg.Definitions:
    """extra_loggers: beside Dagster's console logger (e.g. the command line's progress bar)."""
    ingest_assets = [a for a, _ in RAW_FEEDS.values()]
    gate1_checks = [c for _, c in RAW_FEEDS.values()]
    return dg.Definitions(
        assets=[build_database, *ingest_assets, person_key, phm_dbt_models, risk_validation, published_warehouse],
        asset_checks=[*gate1_checks, gate2_marts],
        jobs=[nightly_refresh],
        schedules=[nightly_refresh_schedule],
        sensors=[new_drop_sensor],
        resources={"settings": settings or RefreshSettings(), "dbt": dbt_resource()},
        loggers={**dg.default_loggers(), **(extra_loggers or {})} if extra_loggers else None,
    )


defs = build_definitions()
