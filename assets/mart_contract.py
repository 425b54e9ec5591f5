"""The published contract for downstream tools: which tables and columns readers can rely on, at which version.

contracts/marts.yaml lists every published mart and meta table with its columns and its level (aggregate, or
patient-level), plus a version and a fingerprint of that listing. The dbt models (their documented columns in the
manifest) and the meta schema (assets/run_meta.py) must match it; a test fails on any difference, and on a
listing whose fingerprint was not updated, so a renamed or removed column cannot reach readers without a new
contract version. Every refresh records the version in meta.refresh_log; the Parquet exports take their level
from here. Regenerate after a deliberate change: `python -m assets.mart_contract --write --version X.Y.Z`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from pathlib import Path

import yaml

from assets.paths import DBT_PROJECT_DIR, PROJECT_ROOT
from assets.run_meta import DDL, HISTORY_TABLES

CONTRACT_PATH = PROJECT_ROOT / "contracts" / "marts.yaml"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
LEVELS = ("aggregate", "patient")


def load_contract() -> dict:
    return yaml.safe_load(CONTRACT_PATH.read_text())


def fingerprint(tables: dict) -> str:
    """sha256 of the tables, their level and their ordered columns (what readers depend on)."""
    canonical = {
        name: {"level": spec["level"], "columns": list(spec["columns"])} for name, spec in sorted(tables.items())
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()[:16]


def contract_version() -> str:
    return str(load_contract()["version"])


def meta_columns() -> dict[str, list[str]]:
    """Columns of the published meta tables, read from the DDL that creates them."""
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS meta\.(\w+) \((.*?)\);", DDL, flags=re.S):
        if name in HISTORY_TABLES:
            tables[f"meta.{name}"] = [
                column.split()[0] for column in body.replace("\n", " ").split(",") if column.strip()
            ]
    return tables


def mart_columns(manifest_path: Path = MANIFEST_PATH) -> dict[str, list[str]]:
    """Documented columns of every model published in schema marts (dbt manifest; every column is documented)."""
    manifest = json.loads(manifest_path.read_text())
    return {
        f"marts.{node['name']}": list(node["columns"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("schema") == "marts"
    }


def differences(contract: dict, current: dict[str, list[str]]) -> list[str]:
    """Every way the models and meta schema differ from the contract, in words."""
    problems = []
    listed = contract["tables"]
    for table in sorted(set(listed) - set(current)):
        problems.append(f"{table}: in the contract but not published")
    for table in sorted(set(current) - set(listed)):
        problems.append(f"{table}: published but not in the contract")
    for table in sorted(set(listed) & set(current)):
        missing = [c for c in listed[table]["columns"] if c not in current[table]]
        added = [c for c in current[table] if c not in listed[table]["columns"]]
        problems += [f"{table}.{c}: in the contract but not in the model (removed or renamed?)" for c in missing]
        problems += [f"{table}.{c}: not in the contract" for c in added]
    if fingerprint(listed) != contract["fingerprint"]:
        problems.append(
            f"fingerprint {contract['fingerprint']} does not match the listing ({fingerprint(listed)}): "
            "a changed contract needs a new version"
        )
    return problems


def write(version: str, manifest_path: Path = MANIFEST_PATH) -> None:
    previous = load_contract() if CONTRACT_PATH.exists() else {"tables": {}}
    current = {**mart_columns(manifest_path), **meta_columns()}
    tables = {
        name: {"level": previous["tables"].get(name, {}).get("level", "patient"), "columns": columns}
        for name, columns in sorted(current.items())
    }
    header = (
        "# The published contract for downstream tools (assets/mart_contract.py). level: aggregate tables are\n"
        "# exported to Parquet by default; patient-level tables only when PHM_EXPORT_PATIENT_LEVEL=1.\n"
        "# Regenerate after a deliberate change: python -m assets.mart_contract --write --version X.Y.Z\n"
    )
    body = {"version": version, "fingerprint": fingerprint(tables), "tables": tables}
    CONTRACT_PATH.write_text(header + yaml.safe_dump(body, sort_keys=False, width=120))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite contracts/marts.yaml from the models")
    parser.add_argument("--version", help="the new contract version (with --write)")
    args = parser.parse_args()
    if args.write:
        if not args.version:
            parser.error("--write needs --version")
        write(args.version)
    for problem in differences(load_contract(), {**mart_columns(), **meta_columns()}):
        print(problem)
