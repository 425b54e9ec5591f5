"""Gate 2: Great Expectations suites on the marts, one per checked table, compiled from the registry
(expectations/mart_checks.py, seeds/mart_checks.csv).

Each suite holds ONE UnexpectedRowsExpectation whose query evaluates every check of its table in one aggregate
pass and returns a row per failing check (stack.md: GX on DuckDB costs about 2.5x the bare query per pass, so
few expectations that each aggregate beat one expectation per rule). The rows come back in the COMPLETE result
and are mapped to one CheckResult per registry check: a check absent from them passed; an expectation that
raised fails every check of its table, so a missing mart blocks rather than passes.
"""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe
import sqlalchemy as sa
from great_expectations.core.expectation_validation_result import ExpectationValidationResult

from expectations import gx_duckdb
from expectations.data_docs import kept_validation
from expectations.mart_checks import MART_SCHEMA, MartCheck, table_query, tables
from expectations.results import CheckResult


def build_suite(table_name: str, checks: list[MartCheck]) -> gx.ExpectationSuite:
    own = [c for c in checks if c.table_name == table_name]
    suite = gx.ExpectationSuite(name=f"gate2_{table_name}")
    # GX reads {batch} as its placeholder: the compiled SQL has no other braces.
    suite.add_expectation(
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=table_query(table_name, checks, batch="{batch}"),
            description=f"gate 2 checks of {MART_SCHEMA}.{table_name}: " + "; ".join(c.description for c in own),
            meta={"table": f"{MART_SCHEMA}.{table_name}", "check_ids": [c.check_id for c in own]},
        )
    )
    return suite


def validate_marts(
    database_path: str,
    checks: list[MartCheck],
    table_names: list[str] | None = None,
    validations: list[dict] | None = None,
) -> list[CheckResult]:
    """Run the gate-2 suite of each table (all registry tables by default) on the DuckDB file; one result per check.
    GX's validation result of each suite that ran is appended to `validations` if given, for the data docs: its
    unexpected rows are kept, one per failing check (check_id, rows_failing, detail), no patient's."""
    results: list[CheckResult] = []
    context, datasource = gx_duckdb.duckdb_context(database_path)
    try:
        existing = {
            r[0]
            for r in datasource.get_execution_engine()
            .execute_query(
                sa.text(f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{MART_SCHEMA}'")
            )
            .fetchall()
        }
        for table_name in table_names or tables(checks):
            if table_name not in existing:  # a mart the build did not make: its checks did not run
                results += _to_check_results(
                    table_name, checks, None, f"table {MART_SCHEMA}.{table_name} does not exist"
                )
                continue
            asset = datasource.add_query_asset(name=table_name, query=f"SELECT * FROM {MART_SCHEMA}.{table_name}")
            batch = asset.add_batch_definition_whole_table("whole")
            suite = context.suites.add(build_suite(table_name, checks))
            validation = context.validation_definitions.add(
                gx.ValidationDefinition(name=f"gate2_{table_name}", data=batch, suite=suite)
            )
            try:
                outcome = validation.run(result_format="COMPLETE")
                if validations is not None:
                    validations.append(kept_validation(outcome, keep_unexpected_rows=True))
                (result,) = outcome.results
                error = None if "observed_value" in (result.result or {}) else _exception_message(result)
            except Exception as e:  # the table is unreadable: every check of it fails
                error, result = f"{type(e).__name__}: {e}", None
            if error is not None:
                gx_duckdb.rollback(datasource)
            results += _to_check_results(table_name, checks, result, error)
    finally:
        gx_duckdb.close(datasource)
    return results


def _exception_message(result: ExpectationValidationResult) -> str:
    """GX reports a query that raised per metric, nested in exception_info: the first message, first line."""
    pending = [result.exception_info or {}]
    while pending:
        info = pending.pop()
        if isinstance(info, dict):
            if info.get("exception_message"):
                return str(info["exception_message"]).strip().splitlines()[0]
            pending.extend(info.values())
    return "the expectation returned no result"


def _to_check_results(
    table_name: str, checks: list[MartCheck], result: ExpectationValidationResult | None, error: str | None
) -> list[CheckResult]:
    failing = {}
    if error is None and result is not None:
        for row in (result.result or {}).get("details", {}).get("unexpected_rows", []):
            failing[row["check_id"]] = (int(row["rows_failing"]), row.get("detail"))
    out = []
    for c in checks:
        if c.table_name != table_name:
            continue
        column = ",".join(c.columns)
        if error is not None:
            out.append(
                CheckResult(
                    c.table,
                    c.check_id,
                    column,
                    c.check_type,
                    c.severity,
                    c.threshold,
                    False,
                    None,
                    None,
                    None,
                    f"check could not run: {error}",
                )
            )
        elif c.check_id in failing:
            rows, detail = failing[c.check_id]
            out.append(
                CheckResult(
                    c.table,
                    c.check_id,
                    column,
                    c.check_type,
                    c.severity,
                    c.threshold,
                    False,
                    rows,
                    None,
                    None,
                    c.description + (f" ({detail})" if detail else ""),
                )
            )
        else:
            out.append(
                CheckResult(
                    c.table, c.check_id, column, c.check_type, c.severity, c.threshold, True, 0, None, None, "passed"
                )
            )
    return out
