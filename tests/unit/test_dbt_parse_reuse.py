"""One parse of the dbt project serves every run (orchestration/dbt_child.py, orchestration/dbt_project.py): the
kept parse is named after everything that decides it, phm-dbt keeps only a parse it made itself, and a run given a
kept parse uses it rather than parsing again."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from dbt.contracts.graph.manifest import Manifest

from assets.paths import DBT_PROJECT_DIR
from assets.spark_raw import SPARK_HOME_VARIABLE
from orchestration.dbt_child import PARSED_MANIFEST_VARIABLE, PARSED_MANIFESTS_KEPT, keep_parse
from orchestration.dbt_project import dbt_child_environment, dbt_executable, parsed_manifest_path
from tests.helpers.dbt_build import copy_project

NIGHT = {"reference_date": "2026-10-31"}


def _project_copy(tmp_path: Path) -> Path:
    return copy_project(tmp_path) / "dbt_project"


def test_the_kept_parse_is_named_by_what_decides_the_parse(tmp_path):
    project = _project_copy(tmp_path)
    night = parsed_manifest_path(NIGHT, "build", project)
    assert parsed_manifest_path({"reference_date": "2027-01-01"}, "build", project) == night  # compile time only
    assert parsed_manifest_path({**NIGHT, "model_schema_suffix": "_prior"}, "build", project) != night
    assert parsed_manifest_path(NIGHT, "other", project) != night  # dbt's database is the build file's stem
    assert parsed_manifest_path(NIGHT, "build", DBT_PROJECT_DIR) != night  # another checkout

    model = next((project / "models" / "marts").glob("*.sql"))
    text = model.read_text()
    model.write_text(text)  # touched, not changed
    assert parsed_manifest_path(NIGHT, "build", project) == night
    model.write_text(text + "\n-- edited\n")
    assert parsed_manifest_path(NIGHT, "build", project) != night
    model.write_text(text)
    seed = project.parent / "seeds" / "code_values.csv"
    seed.write_text(seed.read_text() + "\n")
    assert parsed_manifest_path(NIGHT, "build", project) != night


def test_only_a_parse_made_by_this_run_is_kept_and_only_the_latest_few(tmp_path, monkeypatch):
    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    written = target / "partial_parse.msgpack"
    written.write_bytes(b"copied in by dagster-dbt before dbt started")
    started = time.time() + 60  # dbt "started" after the file was written: it is not this run's parse
    kept = tmp_path / "parsed" / "night.msgpack"
    keep_parse(kept, started)
    assert not kept.exists()

    written.write_bytes(b"this run's parse")
    keep_parse(kept, time.time() - 60)
    assert kept.read_bytes() == b"this run's parse"
    assert [p.name for p in kept.parent.iterdir()] == ["night.msgpack"]  # no partial file left

    for i in range(PARSED_MANIFESTS_KEPT + 2):
        keep_parse(kept.with_name(f"other{i}.msgpack"), time.time() - 60)
    left = sorted(p.name for p in kept.parent.glob("*.msgpack"))
    assert len(left) == PARSED_MANIFESTS_KEPT and f"other{PARSED_MANIFESTS_KEPT + 1}.msgpack" in left


def _phm_dbt(*args: str, kept: Path, target: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        PARSED_MANIFEST_VARIABLE: str(kept),
        "DBT_TARGET_PATH": str(target),
        "PHM_BUILD_DB": str(target / "build.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_given_a_kept_parse_runs_on_it_without_parsing(tmp_path):
    kept = tmp_path / "parsed" / "night.msgpack"
    parsed = _phm_dbt("parse", "--quiet", kept=kept, target=tmp_path / "first")
    assert parsed.returncode == 0, parsed.stdout[-3000:] + parsed.stderr[-3000:]
    assert kept.is_file(), "phm-dbt keeps the parse it made"

    # A kept parse where the mart `person` carries a tag no file gives it: only a run on the kept parse finds it.
    manifest = Manifest.from_msgpack(kept.read_bytes())
    manifest.nodes["model.phm.person"].tags.append("only_in_the_kept_parse")
    kept.write_bytes(manifest.to_msgpack())
    tagged = ("ls", "--resource-type", "model", "--select", "tag:only_in_the_kept_parse", "--output", "name")
    listed = _phm_dbt(*tagged, kept=kept, target=tmp_path / "second")
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    assert listed.stdout.split()[-1:] == ["person"]
    assert not (tmp_path / "second" / "partial_parse.msgpack").exists()

    kept.write_bytes(b"damaged")  # unreadable: dbt parses afresh and the new parse replaces it
    listed = _phm_dbt(*tagged, kept=kept, target=tmp_path / "third")
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    assert "person" not in listed.stdout.split()
    assert "only_in_the_kept_parse" not in Manifest.from_msgpack(kept.read_bytes()).nodes["model.phm.person"].tags


def test_a_spark_build_is_given_its_spark_home_and_a_parse_of_its_own(tmp_path, monkeypatch):
    """dbt parses with the adapter's own macros, so a DuckDB parse must never serve a Spark build (or the reverse);
    the variables are set only while dbt starts."""
    for name in (PARSED_MANIFEST_VARIABLE, SPARK_HOME_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    build = tmp_path / "build.duckdb"
    seen = {}
    for engine, home in (("duckdb", None), ("spark", tmp_path / "spark")):
        with dbt_child_environment(build, NIGHT, home):
            seen[engine] = (os.environ[PARSED_MANIFEST_VARIABLE], os.environ.get(SPARK_HOME_VARIABLE))
    assert seen["duckdb"][0] != seen["spark"][0]
    assert seen["duckdb"][1] is None and seen["spark"][1] == str(tmp_path / "spark")
    assert PARSED_MANIFEST_VARIABLE not in os.environ and SPARK_HOME_VARIABLE not in os.environ
