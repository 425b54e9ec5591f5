"""Parquet exports for BI tools (Power BI and the like read a folder of Parquet files, not a DuckDB file).

After each publish, `warehouse/exports` shows one Parquet file per published table of the contract
(contracts/marts.yaml) and a `data_dictionary.csv` (table, column, type, description from the dbt docs). Aggregate
tables only by default; patient-level marts only when asked (PHM_EXPORT_PATIENT_LEVEL=1); the identity never.
The files are written to a new folder `exports-<run id>` and then `exports` (a symbolic link) is switched to it in
one rename, so a reader sees the last good refresh whole and never a half-written file; older folders are removed.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import duckdb

from assets.mart_contract import MANIFEST_PATH, load_contract
from assets.sql_text import sql_string

EXPORTS_LINK = "exports"


def _descriptions(manifest_path: Path) -> dict[tuple[str, str], str]:
    """(table, column) -> description, from the dbt manifest (marts) and the meta tables' documentation."""
    if not manifest_path.exists():
        return {}
    manifest = json.loads(manifest_path.read_text())
    out = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts":
            for column, spec in node["columns"].items():
                out[(f"marts.{node['name']}", column)] = " ".join((spec.get("description") or "").split())
    return out


def export_tables(
    warehouse_path: Path, run_id: str, include_patient_level: bool = False, manifest_path: Path = MANIFEST_PATH
) -> Path:
    """Write the exports of the published warehouse for this run and switch the `exports` link to them."""
    contract = load_contract()
    tables = [
        name for name, spec in contract["tables"].items() if spec["level"] == "aggregate" or include_patient_level
    ]
    root = warehouse_path.parent
    target = root / f"{EXPORTS_LINK}-{run_id}"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    descriptions = _descriptions(manifest_path)
    dictionary = []
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        for table in tables:
            path = target / f"{table.split('.', 1)[1] if table.startswith('marts.') else table}.parquet"
            con.execute(f"COPY (SELECT * FROM {table}) TO {sql_string(path)} (FORMAT parquet)")
            for column, column_type in con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                table.split(".", 1),
            ).fetchall():
                dictionary.append([path.name, table, column, column_type, descriptions.get((table, column), "")])
    with open(target / "data_dictionary.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "table", "column", "type", "description"])
        writer.writerows(dictionary)
    (target / "contract.json").write_text(
        json.dumps({"contract_version": contract["version"], "run_id": run_id, "tables": tables}, indent=2)
    )
    _switch_link(root, target)
    return target


def _switch_link(root: Path, target: Path) -> None:
    link = root / EXPORTS_LINK
    if link.exists() and not link.is_symlink():
        raise RuntimeError(f"{link} is a real folder, not the exports link: move it aside")
    temporary = root / f".{EXPORTS_LINK}.{target.name}.link"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)  # relative: the warehouse folder can move
    previous = os.readlink(link) if link.is_symlink() else None
    os.replace(temporary, link)  # one rename: readers see the old folder or the new one
    for old in root.glob(f"{EXPORTS_LINK}-*"):
        if old.name not in (target.name, previous):
            shutil.rmtree(old, ignore_errors=True)
    # The previous folder stays until the next switch: a reader that opened it keeps its files.
