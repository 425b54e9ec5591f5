"""The dbt project as dagster-dbt sees it, alone in this module so preparing it never needs its manifest.

Setup prepares the manifest dagster-dbt loads: `dagster-dbt project prepare-and-package --file
orchestration/dbt_project.py` (`make setup`; `make` re-runs it when a model, macro or seed changes). Under
`dagster dev` dagster-dbt re-parses on every code reload (prepare_if_dev); nothing else runs dbt at import.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from dagster_dbt import DbtCliResource, DbtProject

from assets.paths import DBT_PROJECT_DIR, project_source_files
from assets.run_meta import duckdb_memory_limit
from assets.spark_raw import SPARK_HOME_VARIABLE
from orchestration.dbt_child import DBT_PARENT_VARIABLE, PARSED_MANIFEST_VARIABLE

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


def dbt_for_build_file(
    dbt: DbtCliResource, build_path: Path, threads: int | None = None, target: str | None = None
) -> DbtCliResource:
    """The configured dbt resource, writing to this run's build file (a profile of its own beside the file), or to
    another output of the profile (`target`, e.g. spark)."""
    profiles_dir = profile_for_build_file(
        Path(dbt.profiles_dir or dbt.project_dir),
        build_path,
        build_path.with_name(f"{build_path.stem}.profile"),
        threads,
    )
    return DbtCliResource(
        project_dir=dbt.project_dir,
        profiles_dir=str(profiles_dir),
        dbt_executable=dbt.dbt_executable,
        global_config_flags=dbt.global_config_flags,
        profile=dbt.profile,
        target=target or dbt.target,
        state_path=dbt.state_path,
    )


@contextmanager
def dbt_child_environment(build_path: Path, dbt_vars: dict[str, str], spark_home: Path | None = None) -> Iterator[None]:
    """While dbt is started (DbtCliResource.cli spawns it; it inherits this process's environment): the refresh's
    process id, which phm-dbt compares with its parent, and where the parse for these vars is kept
    (orchestration/dbt_child.py); for a Spark build, the run's Spark home the profile's spark output reads.
    Restored afterwards, so no other process started from here inherits them."""
    database = build_path.stem if spark_home is None else f"{build_path.stem}:spark"  # another adapter's parse
    given = {
        DBT_PARENT_VARIABLE: str(os.getpid()),
        PARSED_MANIFEST_VARIABLE: str(parsed_manifest_path(dbt_vars, database)),
    }
    if spark_home is not None:
        given[SPARK_HOME_VARIABLE] = str(spark_home)
    before = {name: os.environ.get(name) for name in given}
    os.environ.update(given)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# Vars read only when SQL is compiled (never in a config, a ref, a schema name or a test's arguments): a parse made
# with any value of them serves every run. Every other var can change what parsing produces.
COMPILE_TIME_VARS = frozenset({"reference_date"})


def parsed_manifest_path(dbt_vars: dict[str, str], database: str, project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Where the parse of this project for these vars is kept: dbt re-parses the whole project (12 s or more) at
    every invocation whose vars or profile differ from the last, which is every run. The name is a digest of all
    that decides the parse: dbt's version, the project's folder and files, the parse-time vars and the database
    name (the build file's stem, the same in every run); so an edited model, seed or macro, or another dbt, finds
    no kept parse and parses afresh. phm-dbt keeps what that parse produced under this name."""
    from dbt.version import __version__ as dbt_version

    digest = hashlib.sha256()
    parse_vars = {k: v for k, v in dbt_vars.items() if k not in COMPILE_TIME_VARS}
    for part in (dbt_version, str(project_dir.resolve()), json.dumps(parse_vars, sort_keys=True), database):
        digest.update(part.encode() + b"\0")
    for path in project_source_files(project_dir):
        digest.update(str(path.relative_to(project_dir.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return project_dir / "target" / "parsed" / f"{digest.hexdigest()[:20]}.msgpack"


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
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in project_source_files())


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
