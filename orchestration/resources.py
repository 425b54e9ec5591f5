"""Resources: where the refresh reads its drop and writes its warehouse, configured from the environment."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg

from assets.incremental import incremental_allowed
from assets.ingest import Drop
from assets.paths import default_landing_dir, default_warehouse_path, resolve
from assets.publish import DEFAULT_STORAGE_VERSION

BUILD_FILE_NAME = "build.duckdb"
# Where dbt builds the models. Ingest and gate 1 run on DuckDB for both; on Spark the raw rows go to Parquet, the
# person key is computed in Spark SQL, and dbt builds there (assets/spark_raw.py, assets/spark_landing.py).
ENGINES = ("duckdb", "spark")


class RefreshSettings(dg.ConfigurableResource):
    """Where the refresh reads its drop and writes its warehouse.

    Every setting is read when a run starts, never when the code is imported, so `dagster dev` and the schedule
    follow a changed environment. An empty setting means its environment variable, else the project default:
    landing_dir PHM_LANDING_DIR (<project>/landing), warehouse_path PHM_WAREHOUSE (<project>/warehouse/phm.duckdb),
    storage_version PHM_STORAGE_VERSION (assets/publish.py), export_patient_level PHM_EXPORT_PATIENT_LEVEL=1,
    dbt_threads PHM_DBT_THREADS (dbt_project/profiles.yml), engine PHM_ENGINE (duckdb), incremental PHM_INCREMENTAL
    (0: never; else when assets/incremental.py allows).
    A deployment may also give any of them as dg.EnvVar("...") in its own Definitions.
    landing_dir holds <extract_date>/ drops; extract_date empty = the latest drop. reference_date empty = the
    extract date; an earlier one rebuilds the figures as they stood then (point-in-time rebuild)."""

    landing_dir: str = ""
    warehouse_path: str = ""
    extract_date: str = ""
    reference_date: str = ""
    # DuckDB storage format of the published file (assets/publish.py explains the default).
    storage_version: str = ""
    # Parquet exports of patient-level marts beside the aggregates (never the identity).
    export_patient_level: bool | None = None
    # dbt's worker threads (0: PHM_DBT_THREADS, else the profile's threads).
    dbt_threads: int = 0
    # The engine dbt builds on: duckdb or spark (ENGINES above).
    engine: str = ""
    # False: read and build everything again (assets/incremental.py says when a refresh may keep what it can).
    incremental: bool | None = None

    @property
    def landing(self) -> Path:
        return resolve(self.landing_dir) if self.landing_dir else default_landing_dir()

    @property
    def warehouse(self) -> Path:
        return resolve(self.warehouse_path) if self.warehouse_path else default_warehouse_path()

    @property
    def storage(self) -> str:
        return self.storage_version or os.environ.get("PHM_STORAGE_VERSION") or DEFAULT_STORAGE_VERSION

    @property
    def exports_patient_level(self) -> bool:
        if self.export_patient_level is not None:
            return self.export_patient_level
        return os.environ.get("PHM_EXPORT_PATIENT_LEVEL", "") == "1"

    @property
    def dbt_threads_or_default(self) -> int | None:
        if self.dbt_threads:
            return self.dbt_threads
        given = os.environ.get("PHM_DBT_THREADS", "")
        if given and not (given.isdigit() and int(given) > 0):
            raise ValueError(f"PHM_DBT_THREADS must be a whole number above 0, got {given!r}")
        return int(given) if given else None

    @property
    def engine_or_default(self) -> str:
        given = self.engine or os.environ.get("PHM_ENGINE", "") or ENGINES[0]
        if given not in ENGINES:
            raise ValueError(f"engine {given!r} is not one of {', '.join(ENGINES)} (setting engine or PHM_ENGINE)")
        return given

    @property
    def incremental_or_default(self) -> bool:
        return self.incremental if self.incremental is not None else incremental_allowed()

    def drop(self) -> Drop:
        return Drop.open(self.landing, date.fromisoformat(self.extract_date) if self.extract_date else None)

    def reference_date_for(self, drop: Drop) -> date:
        if not self.reference_date:
            return drop.extract_date
        reference = date.fromisoformat(self.reference_date)
        if reference > drop.extract_date:
            raise ValueError(
                f"reference date {reference} is after the drop's extract date {drop.extract_date}: "
                "the figures can only be rebuilt as of a date the data has reached"
            )
        return reference

    def build_dir(self) -> Path:
        return self.warehouse.parent / ".build"

    def build_path(self, run_id: str) -> Path:
        """Each run builds in its own folder; the file holds raw NHS numbers, so it stays beside the warehouse. The
        file's name is the same in every run: dbt names the database after it, so one parse of the project serves
        every run (orchestration/dbt_project.py, parsed_manifest_path)."""
        return self.build_dir() / run_id / BUILD_FILE_NAME

    def spark_home(self, run_id: str) -> Path:
        """A Spark refresh's local metastore, warehouse folder and raw Parquet: in the run's build folder (owner
        only: the raw rows hold NHS numbers), removed with it."""
        return self.build_path(run_id).parent / "spark"
