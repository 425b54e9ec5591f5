"""Where things live by default, relative to the project root unless given as absolute paths."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


def project_source_files(project_dir: Path = DBT_PROJECT_DIR) -> list[Path]:
    """Every file dbt parses: models, macros, tests, seeds (at the repo top level) and the project files."""
    seeds = project_dir.parent / "seeds"
    folders = (project_dir / "models", project_dir / "macros", project_dir / "tests", seeds)
    found = [p for folder in folders for p in folder.rglob("*") if p.suffix in (".sql", ".yml", ".csv")]
    return sorted(found) + sorted(project_dir.glob("*.yml"))


def resolve(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    return p if p.is_absolute() else (Path.cwd() / p).resolve()


def default_landing_dir() -> Path:
    return resolve(os.environ.get("PHM_LANDING_DIR", PROJECT_ROOT / "landing"))


def default_warehouse_path() -> Path:
    return resolve(os.environ.get("PHM_WAREHOUSE", PROJECT_ROOT / "warehouse" / "phm.duckdb"))


def identity_path(warehouse_path: Path) -> Path:
    """The identity file beside a warehouse (architecture.md: warehouse/identity.duckdb). One warehouse per folder,
    as for its .build/, logs/ and exports."""
    return warehouse_path.with_name("identity.duckdb")
