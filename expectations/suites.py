"""Great Expectations suites, one per feed, compiled from the rule registry (expectations/rules.py).

Each expectation carries its rule id, column, severity and threshold in `meta`, so a validation result maps
back to the rule that the quarantine pass applied. Row-level rules are stated with `mostly = 1 - max failure
rate`; where GX cannot say a rule natively on DuckDB (regex, modulus-11, joins, repeated keys), an unexpected-rows
query returns the rows the quarantine pass flagged with the rule's own SQL predicate (gate_flags.<feed>, one scan
of the feed for every rule), only when their share passes the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe
import sqlalchemy as sa
from great_expectations.core.expectation_validation_result import ExpectationValidationResult

from contracts.extracts import load_contract
from expectations import gx_context, gx_duckdb
from expectations.data_docs import kept_validation
from expectations.results import CheckResult
from expectations.rules import GATE_FLAGS, GATE_REF, Rule, feed_rules, flag_column, row_rules


def _as_datetime(bound: tuple[str, str] | None) -> datetime | None:
    if bound is None:
        return None
    value, _type = bound
    return datetime.fromisoformat(value + ("T23:59:59" if _type == "timestamp" and len(value) == 10 else ""))


def _meta(rule: Rule) -> dict:
    return {
        "rule_id": rule.rule_id,
        "column": rule.column,
        "severity": rule.threshold.severity,
        "max_failure_rate": rule.threshold.max_failure_rate,
        "description": rule.threshold.description,
    }


# GX forms whose `mostly` counts only the non-null values of the column.
NULL_SKIPPING_FORMS = ("in_set", "in_practice_map", "between")


def _mostly(rule: Rule, rows: int, non_null: dict[str, int]) -> float:
    """The share of values that must pass. The threshold is a share of every row received, as the quarantine pass
    counts it; GX's set and range expectations divide by the non-null values only, so for them the threshold is
    restated over those: unexpected / rows <= rate exactly when unexpected / non_null <= rate * rows / non_null
    (a mostly-empty column is held to the same number of bad rows as a full one)."""
    rate = rule.threshold.max_failure_rate
    kind = (rule.gx_form or ("sql",))[0]
    if kind in NULL_SKIPPING_FORMS and rule.column and non_null.get(rule.column):
        rate = rate * rows / non_null[rule.column]
    return max(0.0, 1.0 - rate)


def _row_expectation(
    rule: Rule, position: int, practice_codes: list[str], rows: int, non_null: dict[str, int]
) -> gxe.Expectation:
    mostly = _mostly(rule, rows, non_null)
    meta = _meta(rule)
    form = rule.gx_form or ("sql",)
    kind = form[0]
    column = rule.column or ""  # every GX-native form is a column rule (row_rules gives each its column)
    if kind == "not_null":
        return gxe.ExpectColumnValuesToNotBeNull(column=column, mostly=mostly, meta=meta)
    if kind == "in_set":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=list(form[1]), mostly=mostly, meta=meta)
    if kind == "in_practice_map":
        return gxe.ExpectColumnValuesToBeInSet(column=column, value_set=practice_codes, mostly=mostly, meta=meta)
    if kind == "between":
        lo, hi = form[1], form[2]
        if isinstance(lo, tuple) or isinstance(hi, tuple):
            lo, hi = _as_datetime(lo), _as_datetime(hi)
        return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=lo, max_value=hi, mostly=mostly, meta=meta)
    return _flagged_rows_expectation(rule, position, meta)


def _flagged_rows_expectation(rule: Rule, position: int, meta: dict) -> gxe.Expectation:
    """A rule GX cannot state natively on DuckDB, judged from the quarantine pass (assets/gate.py): it evaluated the
    rule's SQL predicate, or for repeats its GROUP BY of the key, on every row in the one scan that evaluates all
    the rules, and kept each breaking row in gate_flags.<feed> with a flag per rule. The unexpected rows are the
    flagged ones, returned only when their share of every row received passes the threshold. Scanning the feed
    again for each rule cost most of gate 1's time (GX runs each query twice: once to count, once for the rows).
    Repeats count as the quarantine pass counts them: each copy after the first, a wholly empty key included."""
    flagged, flag = f"{GATE_FLAGS}.{rule.feed}", flag_column(position)
    query = (
        f"SELECT * FROM {flagged} WHERE {flag} AND (SELECT count(*) FROM {flagged} WHERE {flag}) > "
        f"{rule.threshold.max_failure_rate} * (SELECT count(*) FROM {{batch}})"
    )
    return gxe.UnexpectedRowsExpectation(unexpected_rows_query=query, description=rule.threshold.description, meta=meta)


def build_suite(
    feed_name: str,
    extract_date: str,
    practice_codes: list[str],
    previous_rows: int | None,
    rows: int,
    non_null: dict[str, int],
) -> gx.ExpectationSuite:
    feed = load_contract()[feed_name]
    suite = gx.ExpectationSuite(name=f"gate1_{feed_name}")
    for rule in feed_rules(feed):
        if rule.rule_id == "empty_feed":
            suite.add_expectation(gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=_meta(rule)))
        elif rule.rule_id == "volume_change" and previous_rows:
            change = rule.threshold.max_failure_rate
            suite.add_expectation(
                gxe.ExpectTableRowCountToBeBetween(
                    min_value=math.ceil(previous_rows * (1 - change)),
                    max_value=math.floor(previous_rows * (1 + change)),
                    meta={**_meta(rule), "previous_rows": previous_rows},
                )
            )
        elif rule.rule_id == "quarantined_total":
            # From the quarantine pass that ran at ingest (quarantine.<feed>), against the rows received.
            share = rule.threshold.max_failure_rate
            suite.add_expectation(
                gxe.UnexpectedRowsExpectation(
                    unexpected_rows_query=f"SELECT * FROM (SELECT count(*) AS quarantined FROM quarantine.{feed_name}) "
                    f"WHERE quarantined > {share} * (SELECT count(*) FROM {{batch}})",
                    description=rule.threshold.description,
                    meta=_meta(rule),
                )
            )
    for position, rule in enumerate(row_rules(feed, extract_date)):
        suite.add_expectation(_row_expectation(rule, position, practice_codes, rows, non_null))
    return suite


def validate_feed(
    database_path: str,
    feed_name: str,
    extract_date: str,
    previous_rows: int | None = None,
    validations: list[dict] | None = None,
) -> list[CheckResult]:
    """Run the feed's suite against landing.<feed> (every row as received) in the build file. GX's validation result,
    sample values removed (expectations/data_docs.py), is appended to `validations` if given, for the data docs."""
    context, datasource = gx_duckdb.duckdb_context(database_path)
    try:
        engine = datasource.get_execution_engine()

        def query(sql: str) -> list[tuple]:
            return [tuple(r) for r in engine.execute_query(sa.text(sql)).fetchall()]

        asset = datasource.add_query_asset(name=feed_name, query=f"SELECT * FROM landing.{feed_name}")
        batch = asset.add_batch_definition_whole_table("whole")
        return _run_suite(context, batch, {}, query, feed_name, extract_date, previous_rows, validations)
    finally:
        gx_duckdb.close(datasource)


def validate_feed_on_spark(
    spark: Any,
    feed_name: str,
    extract_date: str,
    previous_rows: int | None = None,
    validations: list[dict] | None = None,
) -> list[CheckResult]:
    """The same suite on GX's Spark datasource, against the Spark table landing.<feed> (the session's catalogue holds
    it, gate_ref, gate_flags and quarantine under the build file's names: assets/spark_ingest.py)."""
    context = gx_context.ephemeral_context()
    datasource = context.data_sources.add_spark(name="build")
    batch = datasource.add_dataframe_asset(name=feed_name).add_batch_definition_whole_dataframe("whole")

    def query(sql: str) -> list[tuple]:
        return [tuple(r) for r in spark.sql(sql).collect()]

    dataframe = {"dataframe": spark.table(f"landing.{feed_name}")}
    return _run_suite(context, batch, dataframe, query, feed_name, extract_date, previous_rows, validations)


def _run_suite(
    context: Any,
    batch: Any,
    batch_parameters: dict,
    query: Callable[[str], list[tuple]],
    feed_name: str,
    extract_date: str,
    previous_rows: int | None,
    validations: list[dict] | None,
) -> list[CheckResult]:
    """The feed's suite run on one engine's batch of landing.<feed>; `query` runs SQL on that engine (the practice
    map and the column counts the thresholds are restated over are read through it). GX's validation result, sample
    values removed (expectations/data_docs.py), is appended to `validations` if given, for the data docs."""
    practice_codes = [r[0] for r in query(f"SELECT practice_code FROM {GATE_REF}.practice_map")]
    columns = [c.name for c in load_contract()[feed_name].columns]
    counts = query(f"SELECT count(*), {', '.join(f'count({c})' for c in columns)} FROM landing.{feed_name}")[0]
    rows, non_null = counts[0], dict(zip(columns, counts[1:], strict=True))
    suite = context.suites.add(build_suite(feed_name, extract_date, practice_codes, previous_rows, rows, non_null))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"gate1_{feed_name}", data=batch, suite=suite)
    )
    outcome = validation.run(batch_parameters=batch_parameters or None, result_format="SUMMARY")
    if validations is not None:
        validations.append(kept_validation(outcome))
    return [_to_check_result(feed_name, r) for r in outcome.results]


def _to_check_result(feed_name: str, r: ExpectationValidationResult) -> CheckResult:
    config = r.expectation_config
    assert config is not None  # GX sets it on every result of a suite run
    meta = config.meta or {}
    result = r.result or {}
    kind = config.type
    if r.exception_info and r.exception_info.get("raised_exception"):
        message = f"expectation could not run: {r.exception_info.get('exception_message')}"
        return CheckResult(
            feed_name,
            meta.get("rule_id", kind),
            meta.get("column"),
            kind,
            meta.get("severity", "block"),
            meta.get("max_failure_rate", 0.0),
            False,
            None,
            None,
            None,
            message,
        )
    count = result.get("unexpected_count")
    element_count = result.get("element_count")
    # A share of every row (GX's unexpected_percent is of the non-null values), as the quarantine pass counts it.
    rate = count / element_count if count is not None and element_count else None
    if kind == "unexpected_rows_expectation":
        count = result.get("observed_value")
    if kind == "expect_table_row_count_to_be_between":
        element_count = result.get("observed_value")
    rule_id = meta.get("rule_id", kind)
    if r.success:
        message = "passed"
    elif kind == "expect_table_row_count_to_be_between":
        kw = config.kwargs
        message = f"{element_count} rows, expected between {kw.get('min_value')} and {kw.get('max_value')}"
        if meta.get("previous_rows"):
            message += f" (last published refresh: {meta['previous_rows']} rows)"
    else:
        shown = f"{rate:.2%}" if rate is not None else f"{count} rows"
        message = f"{shown} of rows break it, more than the allowed {meta.get('max_failure_rate', 0):.2%}"
    return CheckResult(
        feed_name,
        rule_id,
        meta.get("column"),
        kind,
        meta.get("severity", "block"),
        float(meta.get("max_failure_rate", 0.0)),
        bool(r.success),
        count,
        rate,
        element_count,
        message,
    )
