"""Gate 2 wiring: one blocking asset check per checked mart, all run by one Great Expectations pass over the
build file (expectations/mart_suites.py, registry seeds/mart_checks.csv). Publish depends on every mart, so a
failing check stops it; publish also refuses by itself if a gate-2 result is missing (assets/publish.py)."""

import time
from collections.abc import Iterable

import dagster as dg

from assets.run_meta import connect, record_checks, record_stage
from expectations import mart_checks
from expectations.data_docs import save_validations
from expectations.mart_suites import validate_marts
from orchestration.assets import join_refresh
from orchestration.resources import RefreshSettings

CHECK_NAME = "gate2"


def mart_key(table_name: str) -> dg.AssetKey:
    return dg.AssetKey([mart_checks.MART_SCHEMA, table_name])


def gate2_checks(dbt_asset_keys: Iterable[dg.AssetKey]) -> dg.AssetChecksDefinition:
    """The gate-2 checks of every registry table the dbt project builds (a table it does not build has no
    asset to attach to; its checks then never run, and publish refuses on their missing results)."""
    registry = mart_checks.load_registry()
    built = set(dbt_asset_keys)
    checked = [t for t in mart_checks.tables(registry) if mart_key(t) in built]
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=mart_key(t),
            blocking=True,
            description=f"Gate 2 (Great Expectations on marts.{t}): "
            + "; ".join(c.description for c in registry if c.table_name == t),
        )
        for t in checked
    ]

    @dg.multi_asset_check(
        specs=specs,
        name="gate2_marts",
        description="Gate 2: the mart checks of seeds/mart_checks.csv, one GX suite per mart.",
    )
    def gate2_marts(context: dg.AssetCheckExecutionContext, settings: RefreshSettings) -> Iterable[dg.AssetCheckResult]:
        started = time.time()
        run_id = join_refresh(context.run, settings)
        build_path = settings.build_path(run_id)
        checks = mart_checks.load_registry()  # as the seed is now: the registry publish verifies against
        validations: list[dict] = []
        results = validate_marts(str(build_path), checks, checked, validations)
        with connect(build_path) as con:
            record_checks(con, run_id, "gate2", results)
        save_validations(settings.warehouse.parent, run_id, "gate2", validations)  # GX's own results, for the data docs
        record_stage(build_path, run_id, "gate2", started)
        for table_name in checked:
            own = [r for r in results if r.feed == f"{mart_checks.MART_SCHEMA}.{table_name}"]
            blocking = [r for r in own if r.blocks]
            yield dg.AssetCheckResult(
                asset_key=mart_key(table_name),
                check_name=CHECK_NAME,
                passed=not blocking,
                severity=dg.AssetCheckSeverity.ERROR,
                description="; ".join(f"{r.rule_id}: {r.message}" for r in blocking) or f"{len(own)} checks passed",
                metadata={
                    "checks": len(own),
                    "failed": len(blocking),
                    "failed_checks": ", ".join(r.rule_id for r in blocking),
                },
            )

    return gate2_marts
