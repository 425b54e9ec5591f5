"""Great Expectations validation results kept past the refresh, and GX's data docs built from them.

A gate keeps each suite's validation result as GX's own JSON (`kept_validation`), with the sample values GX copies
out of the data removed: they would be patient values (dates of birth, codes) carried into files and the report.
What is left is the suite's expectations, each one's counts and GX's statistics, which is what the data docs show.
`save_validations` writes them beside the warehouse, one file per suite under
`<warehouse folder>/gx_validations/<run_id>/<stage>/` (a blocked refresh's too, which never reaches the warehouse);
`build_site` loads them back with GX's schema and has GX's own SiteBuilder write the data docs (an index, one page
per validation, one per suite) into a folder, from an ephemeral context with no database.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import great_expectations as gx
from great_expectations.core.expectation_validation_result import (
    ExpectationSuiteValidationResult,
    ExpectationSuiteValidationResultSchema,
)
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import DataContextConfig, InMemoryStoreBackendDefaults
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

# What GX copies out of the data into a result (SUMMARY and COMPLETE formats): never kept.
VALUE_KEYS = (
    "partial_unexpected_list",
    "partial_unexpected_counts",
    "partial_unexpected_index_list",
    "unexpected_list",
    "unexpected_index_list",
    "unexpected_index_query",
)
REMOVED_NOTE = "sample values removed: they are patient data"
SITE_NAME = "phm_report"
STORE = "gx_validations"
# The report reads the latest refresh's results; a month of nightly refreshes is kept for looking back.
KEPT_RUNS = 31


def kept_validation(outcome: ExpectationSuiteValidationResult, keep_unexpected_rows: bool = False) -> dict:
    """GX's JSON of one suite's validation, sample values removed. `keep_unexpected_rows` keeps an
    UnexpectedRowsExpectation's returned rows, for a suite whose rows are aggregates, never a patient's (gate 2)."""
    record = outcome.to_json_dict()
    for result in record["results"]:
        values = result.get("result") or {}
        removed = [key for key in VALUE_KEYS if values.pop(key, None) is not None]
        details = values.get("details")
        if not keep_unexpected_rows and isinstance(details, dict) and details.pop("unexpected_rows", None) is not None:
            removed.append("details.unexpected_rows")
        if removed:
            result.setdefault("meta", {})["phm"] = REMOVED_NOTE
    return record


def run_store(warehouse_dir: Path, run_id: str) -> Path:
    """Where a refresh's validation results are kept: beside the warehouse (and its .build folder)."""
    return warehouse_dir / STORE / run_id


def save_validations(warehouse_dir: Path, run_id: str, stage: str, records: Iterable[dict]) -> None:
    """One JSON file per suite, each written whole (a re-executed gate replaces what it said before); then only
    the latest KEPT_RUNS refreshes' results are kept."""
    folder = run_store(warehouse_dir, run_id) / stage
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        path = folder / f"{record['suite_name']}.json"
        partial = path.with_suffix(".json.partial")
        partial.write_text(json.dumps(record), encoding="utf-8")
        os.replace(partial, path)
    prune_runs(warehouse_dir, run_id)


def prune_runs(warehouse_dir: Path, current_run_id: str) -> list[str]:
    """Remove the results of all but the latest KEPT_RUNS refreshes (by when they were last written; never the
    current one), so the store does not grow by every night; returns the run ids removed."""
    runs = sorted(
        (p for p in (warehouse_dir / STORE).iterdir() if p.is_dir() and p.name != current_run_id),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    removed = runs[KEPT_RUNS - 1 :]
    for run in removed:
        shutil.rmtree(run, ignore_errors=True)
    return [run.name for run in removed]


def load_validations(warehouse_dir: Path, run_id: str) -> list[dict]:
    """The run's kept validation results, gate by gate and suite by suite (none if it kept none)."""
    return [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(run_store(warehouse_dir, run_id).glob("*/*.json"))
    ]


def _suite(result: ExpectationSuiteValidationResult) -> gx.ExpectationSuite:
    """The suite exactly as validated: the expectations the result carries, less the batch they ran on."""
    expectations = []
    for r in result.results:
        config = r.expectation_config
        assert config is not None  # GX sets it on every result of a suite run
        expectations.append(
            ExpectationConfiguration(  # with no id: an expectation with one belongs to a suite already
                type=config.type,
                kwargs={k: v for k, v in config.kwargs.items() if k != "batch_id"},
                meta=config.meta,
                notes=config.notes,
                description=config.description,
                severity=config.severity,
            ).to_domain_obj()
        )
    return gx.ExpectationSuite(name=result.suite_name, expectations=expectations)


def build_site(records: Iterable[dict], run_name: str, site_dir: Path) -> Path:
    """GX's data docs of the kept validation results (one refresh: `run_name`) written into site_dir; its index."""
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            analytics_enabled=False, store_backend_defaults=InMemoryStoreBackendDefaults()
        ),
    )
    context.add_data_docs_site(
        SITE_NAME,
        {  # GX's typed dict wants only the base directory; the site builder reads the class names too
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    schema = ExpectationSuiteValidationResultSchema()
    for record in records:
        result: ExpectationSuiteValidationResult = schema.load(record)
        context.suites.add(_suite(result))
        batch = (result.meta.get("active_batch_definition") or {}).get("data_asset_name") or result.suite_name
        run = RunIdentifier(run_name=run_name, run_time=result.meta.get("validation_time"))
        result.meta["run_id"] = run  # the gates validate with no run name: the pages name the refresh
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(result.suite_name), run, batch)
        context.validation_results_store.set(key, result)
    context.build_data_docs(site_names=[SITE_NAME])
    return site_dir / "index.html"
