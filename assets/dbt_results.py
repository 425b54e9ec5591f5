"""dbt tests as checks of the refresh: the tests the nightly build selects, and what its run_results say.

Every data test and unit test the nightly dbt build selects is a check; error severity blocks (unit tests
always do), warn severity is recorded only. `check_results` turns one build's run_results.json into
meta.check_results rows (stage 'dbt'); `blocking_tests` is what publish expects to find there, so a test that
was skipped or never ran blocks just as a failed one does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dagster_dbt.utils import select_unique_ids

from assets.paths import DBT_PROJECT_DIR
from assets.risk_validation import VALIDATION_SELECTOR
from expectations.results import CheckResult

# The manifest dagster-dbt loads (prepared by `make setup`, see orchestration/dbt_project.py), hence the tests a build runs.
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# Staging tests that state a gate-1 rule which quarantines (dbt_project/models/staging/_staging__models.yml): after
# gate 1 they cannot fail, and at 1M people they cost about 30 s of dbt thread time (the unique ones most).
GATE1_GUARANTEED_SELECTOR = "tag:gate1_guaranteed"
# The nightly build is the whole project but the risk validation, which runs in the prior-year rebuild, and the
# tests gate 1 already guarantees (orchestration/dbt.py: @dbt_assets(exclude=...), so the build and publish read
# the selection from here). dbt's selection syntax: a space is a union.
NIGHTLY_BUILD_EXCLUDE = f"{VALIDATION_SELECTOR} {GATE1_GUARANTEED_SELECTOR}"


@dataclass(frozen=True)
class DbtTest:
    unique_id: str
    table: str  # schema.name of the model or seed tested
    name: str  # rule_id in meta.check_results
    column: str | None
    kind: str  # the generic test's name (unique, not_null, ...), "singular" or "unit_test"
    severity: str  # "block" (dbt error) or "warn"


def load_manifest(path: Path | None = None) -> dict:
    return json.loads((path or MANIFEST_PATH).read_text())


def _table(manifest: dict, node_id: str | None) -> str:
    """schema.name of a model, seed or source (a source test has no attached node, only its dependency)."""
    node = manifest["nodes"].get(node_id or "") or manifest.get("sources", {}).get(node_id or "")
    if not node:
        return node_id or "unknown"
    schema = node.get("config", {}).get("schema") or node.get("schema")
    return f"{schema}.{node.get('identifier') or node['name']}"


def declared_tests(manifest: dict) -> list[DbtTest]:
    """Every enabled data test and unit test the nightly build selects (dbt's own selection, as dagster-dbt
    evaluates it for the dbt assets), in a stable order."""
    selected = select_unique_ids(
        select="fqn:*", exclude=NIGHTLY_BUILD_EXCLUDE, selector="", project=None, manifest_json=manifest
    )
    tests = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        attached = node.get("attached_node") or next(iter(node.get("depends_on", {}).get("nodes", [])), None)
        severity = "block" if str(node.get("config", {}).get("severity", "error")).lower() == "error" else "warn"
        kind = (node.get("test_metadata") or {}).get("name") or "singular"
        tests.append(
            DbtTest(
                node["unique_id"], _table(manifest, attached), node["name"], node.get("column_name"), kind, severity
            )
        )
    for unit in manifest.get("unit_tests", {}).values():
        model = next(iter(unit.get("depends_on", {}).get("nodes", [])), None)
        tests.append(DbtTest(unit["unique_id"], _table(manifest, model), unit["name"], None, "unit_test", "block"))
    return sorted((t for t in tests if t.unique_id in selected), key=lambda t: (t.table, t.name))


def blocking_tests(manifest: dict) -> list[DbtTest]:
    return [t for t in declared_tests(manifest) if t.severity == "block"]


def check_results(manifest: dict, run_results: dict | None) -> list[CheckResult]:
    """One result per declared test. A test with no result in run_results (the build stopped, or the test was
    deselected) gets a failed row saying it did not run; a skipped test fails the same way."""
    by_id = {r["unique_id"]: r for r in (run_results or {}).get("results", [])}
    out = []
    for test in declared_tests(manifest):
        result = by_id.get(test.unique_id)
        status = result["status"] if result else None
        failures = result.get("failures") if result else None
        passed = status == "pass"
        if result is None:
            message = "did not run in this build"
        elif status == "skipped":
            message = "skipped (an upstream model or test failed)"
        elif passed:
            message = "passed"
        else:
            message = f"{status}: {(result.get('message') or '').strip()}"
        out.append(
            CheckResult(
                test.table, test.name, test.column, test.kind, test.severity, 0.0, passed, failures, None, None, message
            )
        )
    return out
