"""dbt wiring: the translator (asset keys = schema + model, groups by layer) and the dbt assets.

The manifest dagster-dbt loads here is prepared by setup (orchestration/dbt_project.py says how); importing this
module runs nothing.
"""

import graphlib
import json
import time
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from assets import dbt_results, incremental, spark_landing
from assets.failpoints import failpoint
from assets.paths import DBT_PROJECT_DIR
from assets.risk_validation import prior_rebuild_args, prior_rebuild_vars, record_risk_validation
from assets.run_meta import connect, record_checks, record_stage
from orchestration.assets import join_refresh, run_reference_date, run_spark_home
from orchestration.dbt_project import (
    dbt_child_environment,
    dbt_executable,
    dbt_for_build_file,
    dbt_project,
    dbt_target_for_build_file,
)
from orchestration.resources import RefreshSettings


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=dbt_executable())


class PhmDbtTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props["schema"]
        return dg.AssetKey([str(schema), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        layer = dbt_resource_props.get("fqn", [None, None])[1]
        return layer if layer in ("staging", "intermediate", "marts") else "marts"

    def get_asset_check_spec(
        self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        return spec._replace(description=describe_dbt_test(manifest["nodes"][unique_id]))


def describe_dbt_test(test: Mapping[str, Any]) -> str:
    """What a dbt test checks, for the Dagster UI: its own description, else its kind, column and arguments,
    then whether it blocks publishing (severity error) or warns."""
    if test.get("description"):
        what = test["description"]
    else:
        metadata = test.get("test_metadata") or {}
        kind = metadata.get("name") or "singular test"
        column = f" on {test['column_name']}" if test.get("column_name") else ""
        arguments = "; ".join(
            f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in sorted((metadata.get("kwargs") or {}).items())
            if k not in ("model", "column_name") and not str(v).startswith("{{")
        )
        what = f"dbt {kind}{column}" + (f" ({arguments})" if arguments else "")
    config = test.get("config") or {}
    severity = str(config.get("severity") or "error").lower()
    consequence = "blocks publishing when it fails" if severity == "error" else "warns only"
    where = f", rows where {config['where']}" if config.get("where") else ""
    return f"{what}{where}; {consequence}."


TRANSLATOR = PhmDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


# The risk validation model runs inside the prior-year rebuild (risk_validation below), not in the nightly build.
@dbt_assets(
    manifest=dbt_project.manifest_path, exclude=dbt_results.NIGHTLY_BUILD_EXCLUDE, dagster_dbt_translator=TRANSLATOR
)
def phm_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: RefreshSettings) -> Iterator[Any]:
    """dbt build (seeds, models, tests) on this run's build file, as of the run's reference date. Every test's
    outcome (and every test that did not run) goes to meta.check_results, stage 'dbt', even when the build fails.
    On the Spark engine dbt builds in the run's Spark metastore and the published schemas then land in the build
    file (assets/spark_landing.py), where gate 2 and publish read them as they read a DuckDB build."""
    started = time.time()
    run_id = join_refresh(context.run, settings)
    build_path = settings.build_path(run_id)
    dbt_vars = {"reference_date": run_reference_date(settings, run_id)}
    spark_home = run_spark_home(settings, run_id)
    manifest = dbt_results.load_manifest(dbt_project.manifest_path)
    plan = incremental.dbt_plan(build_path, run_id, manifest, dbt_results.NIGHTLY_BUILD_EXCLUDE)
    keep = ["--indirect-selection", "empty", "--exclude", plan.build_exclude] if plan else []
    if plan is not None:
        context.log.info(
            f"incremental build: {len(plan.kept)} seeds, models and tests kept from refresh {plan.base_run_id}"
        )
        # before dbt's own: Dagster takes a multi-asset's outputs in dependency order
        yield from kept_outputs(context, manifest, plan)
    invocation = start_dbt(
        dbt,
        settings,
        run_id,
        spark_home,
        dbt_vars,
        ["build", *keep, "--vars", json.dumps(dbt_vars)],
        "build",
        context=context,
    )
    try:
        failpoint("dbt")  # dbt has started as a child process
        yield from invocation.stream()
    finally:
        # A failed step must not leave dbt running: it would hold the build file's lock.
        if invocation.process.poll() is None:
            invocation.process.terminate()
            invocation.process.wait(timeout=60)
        record_test_results(build_path, run_id, invocation, manifest, plan)
    if plan is not None:
        yield from kept_check_results(context, manifest, plan, build_path, run_id)
    if spark_home is not None:
        land_from_spark(build_path, spark_home, spark_landing.LANDED_SCHEMAS)
    record_stage(build_path, run_id, "dbt_build", started)


def kept_outputs(context: dg.AssetExecutionContext, manifest: dict, plan: incremental.DbtPlan) -> Iterator[dg.Output]:
    """Each seed or model an incremental build kept, told to Dagster as built (its table is the one of the refresh
    it started from, whose inputs were this one's), in dependency order. No kept node lies downstream of a rebuilt
    one, so they all come before dbt's own."""
    order = graphlib.TopologicalSorter({uid: manifest["parent_map"].get(uid, []) for uid in plan.kept})
    for unique_id in order.static_order():
        node = manifest["nodes"].get(unique_id)
        if unique_id in plan.kept and node and node["resource_type"] in ("model", "seed", "snapshot"):
            key = TRANSLATOR.get_asset_spec(manifest, unique_id, None).key
            if key in context.selected_asset_keys:
                yield dg.Output(
                    None, output_name=key.to_python_identifier(), metadata={"kept_from_refresh": plan.base_run_id}
                )


def kept_check_results(
    context: dg.AssetExecutionContext, manifest: dict, plan: incremental.DbtPlan, build_path: Path, run_id: str
) -> Iterator[dg.AssetCheckResult]:
    """Each test an incremental build kept, as a check result carrying the outcome it had in the refresh the build
    started from (meta.check_results holds it under this run since record_test_results)."""
    with connect(build_path, read_only=True) as con:
        carried = {
            (table, rule): (passed, message)
            for table, rule, passed, message in con.execute(
                "SELECT feed, rule_id, passed, message FROM meta.check_results WHERE run_id = ? AND stage = 'dbt'",
                [run_id],
            ).fetchall()
        }
    for test in dbt_results.declared_tests(manifest):
        node = manifest["nodes"].get(test.unique_id)
        if test.unique_id not in plan.kept or not node or not node.get("attached_node"):
            continue  # rebuilt, or a unit test (no asset check of its own)
        check = dg.AssetCheckKey(TRANSLATOR.get_asset_spec(manifest, node["attached_node"], None).key, node["name"])
        if check in context.selected_asset_check_keys:
            passed, message = carried.get((test.table, test.name), (False, "did not run in this build"))
            yield dg.AssetCheckResult(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN if test.severity == "warn" else dg.AssetCheckSeverity.ERROR,
                metadata={"result": message},
            )


def start_dbt(
    dbt: DbtCliResource,
    settings: RefreshSettings,
    run_id: str,
    spark_home: Path | None,
    dbt_vars: dict[str, str],
    args: list[str],
    invocation: str,
    **cli_options: Any,
) -> DbtCliInvocation:
    """dbt started for this run: on its build file, or on Spark with the run's Spark home when it has one; its
    target folder named after the invocation."""
    build_path = settings.build_path(run_id)
    with dbt_child_environment(build_path, dbt_vars, spark_home):
        return dbt_for_build_file(
            dbt, build_path, settings.dbt_threads_or_default, "spark" if spark_home else None
        ).cli(args, target_path=dbt_target_for_build_file(build_path, invocation), **cli_options)


def land_from_spark(build_path: Path, spark_home: Path, schemas: tuple[str, ...]) -> None:
    """The tables of `schemas` Spark built, into the build file under their DuckDB names (the DuckDB manifest's)."""
    tables = spark_landing.tables_to_land(dbt_project.manifest_path, spark_home, schemas)
    spark_landing.land_tables(build_path, tables)


def record_test_results(
    build_path: Path, run_id: str, invocation: DbtCliInvocation, manifest: dict, plan: incremental.DbtPlan | None
) -> None:
    """dbt's run_results.json of this build against the tests of the manifest dagster-dbt loaded; in an incremental
    build, the kept tests' results from the refresh it started from."""
    try:
        run_results = invocation.get_artifact("run_results.json")
    except (OSError, ValueError):  # dbt stopped before writing it: every test is recorded as not run
        run_results = None
    results = dbt_results.check_results(manifest, run_results)
    with connect(build_path) as con:
        record_checks(con, run_id, "dbt", results)
        if plan is not None:
            kept = [(t.table, t.name) for t in dbt_results.declared_tests(manifest) if t.unique_id in plan.kept]
            incremental.carry_kept_test_results(con, run_id, plan.base_run_id, kept)


@dg.asset(
    key=["meta", "risk_validation"],
    group_name="marts",
    deps=[dg.AssetKey(["marts", "person_risk"]), dg.AssetKey(["intermediate", "int_activity__utilisation_12m"])],
    description="How well the risk score ranks unplanned care: the score rebuilt as of a year before the "
    "reference date (schemas *_prior of the build file) against the following 12 months' emergency "
    "admissions, beside two naive baselines (age; admitted last year). One row per refresh.",
)
def risk_validation(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: RefreshSettings
) -> dg.MaterializeResult:
    started = time.time()
    run_id = join_refresh(context.run, settings)
    build_path = settings.build_path(run_id)
    reference_date = date.fromisoformat(run_reference_date(settings, run_id))
    prior_vars = prior_rebuild_vars(reference_date)
    spark_home = run_spark_home(settings, run_id)
    prior_args = ["--quiet", *prior_rebuild_args(prior_vars)]
    plan = incremental.dbt_plan(
        build_path, run_id, dbt_results.load_manifest(dbt_project.manifest_path), dbt_results.NIGHTLY_BUILD_EXCLUDE
    )
    if plan is not None and plan.kept_exclude:  # the models the nightly build kept are kept in the prior year too
        prior_args += ["--exclude", plan.kept_exclude]
    prior = start_dbt(
        dbt, settings, run_id, spark_home, prior_vars, prior_args, "prior_year", raise_on_error=False
    ).wait()
    if not prior.is_successful():
        raise dg.Failure(
            description=f"risk validation: the prior-year rebuild of the risk score failed: {prior.get_error()}"
        )
    if spark_home is not None:
        land_from_spark(build_path, spark_home, spark_landing.VALIDATION_SCHEMAS)
    with connect(build_path) as con:
        row = record_risk_validation(con, run_id, reference_date)
    record_stage(build_path, run_id, "risk_validation", started)
    return dg.MaterializeResult(
        metadata={k: v for k, v in row.items() if k.startswith(("auc_", "top5_admissions")) and v is not None}
    )
