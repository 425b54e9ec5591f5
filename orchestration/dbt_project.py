"""The dbt project as dagster-dbt sees it, alone in this module so preparing it never needs its manifest.

Setup prepares the manifest dagster-dbt loads: `dagster-dbt project prepare-and-package --file
orchestration/dbt_project.py` (`make setup`; `make` re-runs it when a model, macro or seed changes). Under
`dagster dev` dagster-dbt re-parses on every code reload (prepare_if_dev); nothing else runs dbt at import.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml
from dagster_dbt import DbtCliResource, DbtProject

from assets.paths import DBT_PROJECT_DIR
from assets.run_meta import duckdb_memory_limit
from orchestration.dbt_child import DBT_PARENT_VARIABLE

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

# dbt_project/profiles.yml names the build file through this variable for a manual `dbt` run; a refresh instead
# renders the profile with its own build file (profile_for_build_file), so no process-wide variable is set.
BUILD_FILE_VARIABLE = "PHM_BUILD_DB"


def profile_for_build_file(profiles_dir: Path, build_path: Path, out_dir: Path, threads: int | None = None) -> Path:
    """profiles.yml with every output that reads BUILD_FILE_VARIABLE pointed at build_path, its DuckDB held to the
    refresh's memory limit (assets/run_meta.py), and given `threads` when set, else the profile's own; returns its
    folder."""
    profiles = yaml.safe_load((profiles_dir / "profiles.yml").read_text())
    for profile in profiles.values():
        for output in profile.get("outputs", {}).values():
            if BUILD_FILE_VARIABLE in str(output.get("path", "")):
                output["path"] = str(build_path)
                output["settings"] = {**(output.get("settings") or {}), "memory_limit": duckdb_memory_limit()}
                if threads:
                    output["threads"] = threads
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False))
    return out_dir


def dbt_for_build_file(dbt: DbtCliResource, build_path: Path, threads: int | None = None) -> DbtCliResource:
    """The configured dbt resource, writing to this run's build file (a profile of its own beside the file)."""
    profiles_dir = profile_for_build_file(
        Path(dbt.profiles_dir or dbt.project_dir),
        build_path,
        build_path.with_name(f"{build_path.stem}.profile"),
        threads,
    )
    # dbt inherits this process's environment: phm-dbt compares its parent with it (orchestration/dbt_child.py).
    os.environ[DBT_PARENT_VARIABLE] = str(os.getpid())
    return DbtCliResource(
        project_dir=dbt.project_dir,
        profiles_dir=str(profiles_dir),
        dbt_executable=dbt.dbt_executable,
        global_config_flags=dbt.global_config_flags,
        profile=dbt.profile,
        target=dbt.target,
        state_path=dbt.state_path,
    )


def dbt_target_for_build_file(build_path: Path, invocation: str) -> Path:
    """dbt's target folder (compiled SQL, run_results.json, logs) for one invocation of this run, beside the build
    file, so it goes when the build file goes; under the project's target/ it would grow by every run."""
    return build_path.with_name(f"{build_path.stem}.dbt") / invocation


def manifest_is_stale() -> bool:
    """The manifest is missing or older than a model, macro, seed or project file (dagster-dbt would map a build's
    events onto the wrong nodes). For commands that run a refresh, which then prepare it; never run at import."""
    manifest = dbt_project.manifest_path
    if not manifest.exists():
        return True
    seeds = DBT_PROJECT_DIR.parent / "seeds"
    sources = [
        p
        for folder in (DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "macros", DBT_PROJECT_DIR / "tests", seeds)
        for p in folder.rglob("*")
        if p.suffix in (".sql", ".yml", ".csv")
    ]
    sources += list(DBT_PROJECT_DIR.glob("*.yml"))
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in sources)


def dbt_executable() -> str:
    """dbt beside this interpreter (no activated venv or PATH needed), as `phm-dbt` (orchestration/dbt_child.py):
    it dies with the refresh that started it. Plain dbt where the package's scripts are not installed."""
    for name in ("phm-dbt", "dbt"):
        candidate = Path(sys.executable).parent / name
        if candidate.exists():
            return str(candidate)
    return "dbt"


def prepare_if_stale() -> bool:
    """What dagster-dbt's preparation does (dbt parse into the project's target path), through its own resource,
    when the manifest is stale; True when it ran."""
    if not manifest_is_stale():
        return False
    resource = DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
    resource.cli(["parse", "--quiet"], target_path=dbt_project.target_path).wait()
    return True
