"""`phm docs`: dbt's documentation of the marts (every model and column with its description, the lineage graph),
with column types from the published warehouse.

dbt-duckdb opens its database read-write, so the catalog is read from a temporary copy of the warehouse: the
published file is never opened for writing. `--static` gives one self-contained static_index.html that opens from
disk with no server.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from assets.paths import DBT_PROJECT_DIR
from phm.warehouse import WarehouseMissing


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def build_docs(warehouse: Path, out_dir: Path) -> Path:
    """Write manifest.json, catalog.json, index.html and static_index.html into out_dir; return the static page."""
    if not warehouse.exists():
        raise WarehouseMissing(warehouse)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="phm-docs-") as tmp:
        copy = Path(tmp) / "catalog_source.duckdb"
        shutil.copyfile(warehouse, copy)
        env = {**os.environ, "PHM_BUILD_DB": str(copy), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        common = [
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(out_dir),
        ]
        # parse writes the manifest; docs generate then reads only the catalog (no compile, no model is run).
        for args in (["parse"], ["docs", "generate", "--static", "--no-compile"]):
            result = subprocess.run(
                [dbt_executable(), "--quiet", *args, *common], env=env, capture_output=True, text=True
            )
            if result.returncode != 0:
                raise RuntimeError(f"dbt {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    (out_dir / "partial_parse.msgpack").unlink(missing_ok=True)
    return out_dir / "static_index.html"


def undocumented_columns(out_dir: Path, schema: str = "marts") -> dict[str, list[str]]:
    """Columns of the published tables in `schema` that the dbt project gives no description."""
    manifest = json.loads((out_dir / "manifest.json").read_text())
    catalog = json.loads((out_dir / "catalog.json").read_text())
    missing: dict[str, list[str]] = {}
    for unique_id, entry in catalog["nodes"].items():
        if entry["metadata"]["schema"] != schema or unique_id not in manifest["nodes"]:
            continue
        described = {
            name.lower()
            for name, column in manifest["nodes"][unique_id]["columns"].items()
            if column.get("description")
        }
        absent = [c for c in entry["columns"] if c.lower() not in described]
        if absent:
            missing[entry["metadata"]["name"]] = absent
    return missing


def serve_docs(out_dir: Path, host: str, port: int) -> None:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out_dir))
    with http.server.ThreadingHTTPServer((host, port), handler) as server:
        server.serve_forever()
