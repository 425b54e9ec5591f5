"""Hand-written raw DuckDB files and `dbt build` on them (person spine, golden and disclosure tests).

`create_raw` makes all 11 contract feeds empty with their contract columns and types, then writes the spine's
patients (tests/helpers/spine_patients.py) and any extra gp_patients rows, with raw.person_key; `run_dbt` runs the
venv's dbt on it with a reference date. tests/conftest.py builds each reference date once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import duckdb
import yaml

from contracts.extracts import CONTRACT_PATH, SQL_TYPES
from orchestration.dbt_child import PARSED_MANIFEST_VARIABLE
from orchestration.dbt_project import dbt_executable, parsed_manifest_path
from tests.helpers.spine_patients import DEFAULT_REGISTRATION, NHS_NUMBERS, PATIENTS

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
CONTRACT = CONTRACT_PATH
REFERENCE_DATE = "2025-02-28"
# What a copy of the project leaves out: dbt's outputs and any database file.
PROJECT_COPY_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".user.yml", "*.duckdb")


def copy_project(root: Path, folders: Sequence[str] = ("seeds", "dbt_project")) -> Path:
    """These top-level folders of the repository under root (for a test that edits a seed or a model in a copy);
    returns root."""
    for folder in folders:
        shutil.copytree(REPO / folder, root / folder, ignore=PROJECT_COPY_IGNORE)
    return root


def create_raw(db_path: Path, extra_gp_patients: list[dict] | None = None) -> None:
    """Every contract feed as an empty raw table with the contract's types, then the hand-written patients."""
    contract = yaml.safe_load(CONTRACT.read_text())
    con = duckdb.connect(str(db_path))
    try:
        con.execute("create schema raw")
        for feed, spec in contract["feeds"].items():
            cols = ", ".join(f"{name} {SQL_TYPES[c['type']]}" for name, c in spec["columns"].items())
            con.execute(f"create table raw.{feed} ({cols})")
        con.execute("create table raw.person_key (nhs_number varchar primary key, person_id varchar)")
        gp_columns = list(contract["feeds"]["gp_patients"]["columns"])
        rows = []
        for pid, patient in PATIENTS.items():
            for overrides in patient["registrations"]:
                row = {**DEFAULT_REGISTRATION, **overrides, "nhs_number": NHS_NUMBERS[pid]}
                rows.append([row[c] for c in gp_columns])
        for row in extra_gp_patients or []:
            rows.append([{**DEFAULT_REGISTRATION, **row}[c] for c in gp_columns])
        placeholders = ", ".join("?" for _ in gp_columns)
        con.executemany(f"insert into raw.gp_patients ({', '.join(gp_columns)}) values ({placeholders})", rows)
        keys = [(nhs, f"pid_{pid}") for pid, nhs in NHS_NUMBERS.items()] + [("9999999999", "pid_unregistered")]
        # A person may have several registrations (rows): one key each.
        keys += [(nhs, f"pid_{nhs}") for nhs in dict.fromkeys(r["nhs_number"] for r in extra_gp_patients or [])]
        con.executemany("insert into raw.person_key values (?, ?)", keys)
    finally:
        con.close()


def run_dbt(db_path: Path, work: Path, *args: str, reference_date: str = REFERENCE_DATE) -> subprocess.CompletedProcess:
    """dbt as a refresh runs it (phm-dbt), on the kept parse of the project for this build file's name (a refresh's
    own is build.duckdb, as are the hand-built files: one parse serves them all)."""
    dbt_vars = {"reference_date": reference_date}
    env = {
        **os.environ,
        "PHM_BUILD_DB": str(db_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DBT_TARGET_PATH": str(work / "target"),
        PARSED_MANIFEST_VARIABLE: str(parsed_manifest_path(dbt_vars, db_path.stem)),
    }
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(dbt_vars),
    ]
    return subprocess.run(cmd, env=env, cwd=db_path.parent, capture_output=True, text=True, timeout=300)


def query(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
