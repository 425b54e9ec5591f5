"""The Dagster definitions load as `dagster dev` loads them: one job, the 02:00 Europe/London schedule, a
blocking gate-1 check on every feed, dbt tests as checks, and publish downstream of every dbt asset."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import date

import dagster as dg
import pytest

from assets.paths import PROJECT_ROOT
from contracts.extracts import load_contract
from orchestration.definitions import defs


def test_job_schedule_and_graph():
    job = defs.resolve_job_def("nightly_refresh")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("nightly_refresh_0200")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 2 * * *", "Europe/London")
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert {f"raw/{f}" for f in load_contract()} <= keys
    assert {"raw/person_key", "marts/person", "restricted/person_identity", "warehouse/published"} <= keys
    publish_parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["warehouse", "published"])).parent_keys}
    assert {"marts/person", "restricted/person_identity"} <= publish_parents


def test_every_feed_has_a_blocking_gate1_check():
    specs = {spec.key.to_user_string(): spec for spec in defs.resolve_all_asset_specs()}
    checks = [c for c in defs.resolve_asset_graph().asset_check_keys]
    gate1 = {c.asset_key.to_user_string() for c in checks if c.name == "gate1"}
    assert gate1 == {f"raw/{f}" for f in load_contract()}
    blocking = {
        c.asset_key.to_user_string()
        for a in [*defs.assets, *defs.asset_checks]
        for c in getattr(a, "check_specs", [])
        if c.blocking
    }
    assert gate1 <= blocking  # (dagster-dbt makes dbt tests blocking checks too)
    assert any(c.asset_key.to_user_string() == "marts/person" for c in checks)  # dbt tests become checks
    assert specs["raw/gp_events"].description


def test_publish_reads_the_manifest_dagster_dbt_loads():
    from assets.dbt_results import MANIFEST_PATH
    from orchestration.dbt_project import dbt_project

    assert dbt_project.manifest_path == MANIFEST_PATH  # else publish would expect tests the build never ran


def test_every_gate2_mart_has_a_blocking_check_upstream_of_publish():
    from expectations.mart_checks import load_registry, tables

    checks = defs.resolve_asset_graph().asset_check_keys
    gate2 = {c.asset_key.to_user_string() for c in checks if c.name == "gate2"}
    assert gate2 == {f"marts/{t}" for t in tables(load_registry())}
    blocking = {
        c.asset_key.to_user_string()
        for a in defs.asset_checks
        for c in a.check_specs
        if c.name == "gate2" and c.blocking and c.description
    }
    assert blocking == gate2
    publish_parents = {
        k.to_user_string() for k in defs.resolve_asset_graph().get(dg.AssetKey(["warehouse", "published"])).parent_keys
    }
    assert gate2 <= publish_parents


def test_importing_the_project_runs_no_process_and_sets_no_environment():
    """No side effects at import: no dbt run (parse or otherwise), no environment variable set. (Libraries may
    start harmless probes at import, e.g. `file -b` for the platform, so only dbt is refused.)"""
    probe = textwrap.dedent(
        """
        import os, subprocess
        popen = subprocess.Popen
        def refuse_dbt(args, *rest, **kwargs):
            if "dbt" in os.path.basename(str(args[0] if isinstance(args, (list, tuple)) else args).split()[0]):
                raise AssertionError(f"dbt was started at import: {args}")
            return popen(args, *rest, **kwargs)
        subprocess.Popen = refuse_dbt
        before = dict(os.environ)
        import orchestration.definitions, phm.cli, phm.refresh, phm.web.app, assets.publish, synthetic
        ours = ("PHM_", "DBT_", "DAGSTER_")  # polars sets its allocator's variable at import: not ours
        changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k) and k.startswith(ours)}
        assert not changed, f"environment changed at import: {sorted(changed)}"
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHM_", "DBT_", "DAGSTER_"))}
    done = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_every_asset_and_check_has_a_description():
    graph = defs.resolve_asset_graph()
    undescribed = [k.to_user_string() for k in graph.get_all_asset_keys() if not graph.get(k).description]
    assert undescribed == []
    specs = [s for a in defs.assets or [] for s in getattr(a, "check_specs", [])]
    specs += [s for c in defs.asset_checks or [] for s in c.check_specs]
    assert len(specs) > 100  # gate 1, gate 2 and every dbt test
    assert [(s.asset_key.to_user_string(), s.name) for s in specs if not s.description] == []
    by_name = {s.name: s.description for s in specs}
    assert by_name["not_null_person_person_id"] == "dbt not_null on person_id; blocks publishing when it fails."


def _landing_with_drops(root, complete, incomplete=()):
    for day in [*complete, *incomplete]:
        (root / "landing" / day).mkdir(parents=True)
    for day in complete:
        (root / "landing" / day / "manifest.json").write_text("{}")
    return root / "landing"


def _published(root, extract_date):
    import duckdb

    path = root / "warehouse" / "phm.duckdb"
    path.parent.mkdir(parents=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.refresh_log (extract_date DATE)")
        con.execute("INSERT INTO meta.refresh_log VALUES (?)", [extract_date])
    return path


def test_a_new_drop_starts_one_refresh_and_no_drop_starts_none(tmp_path):
    from orchestration.resources import RefreshSettings
    from orchestration.schedules import new_drop_sensor, nightly_refresh_schedule

    landing = _landing_with_drops(tmp_path, ["2026-10-30", "2026-10-31"], incomplete=["2026-11-01"])
    warehouse = tmp_path / "warehouse" / "phm.duckdb"
    settings = RefreshSettings(landing_dir=str(landing), warehouse_path=str(warehouse))

    def sensor(instance):
        # entered and left here, so the context's own instance state never outlives this test
        with dg.build_sensor_context(instance=instance, resources={"settings": settings}) as context:
            return new_drop_sensor(context)

    with dg.instance_for_test() as instance:
        # nothing published: the newest drop whose manifest has landed (11-01 is still arriving)
        request = sensor(instance)
        assert isinstance(request, dg.RunRequest) and request.run_key == "drop-2026-10-31"
        assert request.run_config["resources"]["settings"]["config"]["extract_date"] == "2026-10-31"
        # the 10-31 drop published: the sensor and the 02:00 schedule both record "no new drop"
        _published(tmp_path, date(2026, 10, 31))
        skip = sensor(instance)
        assert isinstance(skip, dg.SkipReason) and "no new drop" in (skip.skip_message or "")
        with dg.build_schedule_context(instance=instance, resources={"settings": settings}) as context:
            tick = nightly_refresh_schedule(context)
        assert isinstance(tick, dg.SkipReason) and "already published" in (tick.skip_message or "")
        # the late 11-01 manifest lands: the next tick starts its refresh
        (landing / "2026-11-01" / "manifest.json").write_text("{}")
        late = sensor(instance)
        assert isinstance(late, dg.RunRequest) and late.run_key == "drop-2026-11-01"


def test_the_run_config_a_trigger_gives_is_valid_for_the_job():
    job = defs.resolve_job_def("nightly_refresh")
    config = {"resources": {"settings": {"config": {"extract_date": "2026-10-31"}}}}
    assert dg.validate_run_config(job, config)


def test_dbt_threads_and_memory_come_from_the_settings_then_the_environment_then_the_profile(tmp_path, monkeypatch):
    import yaml

    from assets.paths import DBT_PROJECT_DIR
    from assets.run_meta import DEFAULT_MEMORY_LIMIT, duckdb_memory_limit
    from orchestration.dbt_project import profile_for_build_file
    from orchestration.resources import RefreshSettings

    def threads(setting: int | None) -> int:
        folder = profile_for_build_file(DBT_PROJECT_DIR, tmp_path / "b.duckdb", tmp_path / "profile", setting)
        output = yaml.safe_load((folder / "profiles.yml").read_text())["phm"]["outputs"]["build"]
        assert output["path"] == str(tmp_path / "b.duckdb")
        assert output["settings"]["memory_limit"] == duckdb_memory_limit()  # the same cap as this process's DuckDB
        return output["threads"]

    monkeypatch.delenv("PHM_DBT_THREADS", raising=False)
    monkeypatch.delenv("PHM_DUCKDB_MEMORY_LIMIT", raising=False)
    assert duckdb_memory_limit() == DEFAULT_MEMORY_LIMIT
    profile_default = threads(RefreshSettings().dbt_threads_or_default)
    monkeypatch.setenv("PHM_DUCKDB_MEMORY_LIMIT", "3GB")
    assert profile_default >= 1
    monkeypatch.setenv("PHM_DBT_THREADS", "6")
    assert threads(RefreshSettings().dbt_threads_or_default) == 6
    assert threads(RefreshSettings(dbt_threads=3).dbt_threads_or_default) == 3
    monkeypatch.setenv("PHM_DBT_THREADS", "many")
    with pytest.raises(ValueError, match="PHM_DBT_THREADS"):
        _ = RefreshSettings().dbt_threads_or_default
