"""Gate 2 in Great Expectations on DuckDB: one expectation per mart, one result per registry check; a failing
check carries its rows failing; a warn check does not block; a missing mart fails every check of it without
spoiling the tables validated after it."""

from __future__ import annotations

import dataclasses

import duckdb
import great_expectations as gx
import pytest

from expectations.mart_checks import load_registry, tables
from expectations.mart_suites import build_suite, validate_marts
from tests.helpers.marts import BREAKAGES, clean_marts

REGISTRY = load_registry()


@pytest.fixture
def build_file(tmp_path):
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        clean_marts(con)
    return path


def by_id(results):
    return {r.rule_id: r for r in results}


def test_one_expectation_per_mart_and_every_check_passes_on_clean_marts(build_file):
    gx.get_context(mode="ephemeral")  # a suite is built inside a context
    assert all(len(build_suite(t, REGISTRY).expectations) == 1 for t in tables(REGISTRY))
    results = validate_marts(str(build_file), REGISTRY)
    assert sorted(r.rule_id for r in results) == sorted(c.check_id for c in REGISTRY)
    assert all(r.passed and r.observed_count == 0 for r in results), [r for r in results if not r.passed]
    assert {r.feed for r in results} == {f"marts.{t}" for t in tables(REGISTRY)}


def test_failing_checks_carry_rows_failing_and_a_warning_does_not_block(build_file):
    with duckdb.connect(str(build_file)) as con:
        for check_id in ("person_risk_tier_shares", "target_lists_own_neighbourhood", "reversible_risk_factor_count"):
            con.execute(BREAKAGES[check_id][0])
    registry = [
        dataclasses.replace(c, severity="warn") if c.check_id == "reversible_risk_factor_count" else c for c in REGISTRY
    ]
    results = by_id(validate_marts(str(build_file), registry))
    tiers = results["person_risk_tier_shares"]
    assert (tiers.passed, tiers.blocks, tiers.observed_count, tiers.threshold) == (False, True, 2, 0.5)
    assert "Very high 2.0% (target 1.0% +/- 0.5)" in tiers.message
    assert results["target_lists_own_neighbourhood"].observed_count == 2
    warned = results["reversible_risk_factor_count"]
    assert not warned.passed and not warned.blocks and warned.observed_count == 3
    assert {r.rule_id for r in results.values() if not r.passed} == {
        "person_risk_tier_shares",
        "target_lists_own_neighbourhood",
        "reversible_risk_factor_count",
    }


@pytest.mark.parametrize(
    "change, error",
    [
        ("DROP TABLE marts.pathway_status", "does not exist"),
        ("ALTER TABLE marts.pathway_status RENAME COLUMN rag TO rag_status", "rag"),
    ],
)
def test_a_missing_or_misshapen_mart_fails_every_check_of_it(build_file, change, error):
    with duckdb.connect(str(build_file)) as con:
        con.execute(change)
    results = validate_marts(str(build_file), REGISTRY)
    broken = [r for r in results if r.feed == "marts.pathway_status"]
    assert broken and all(
        not r.passed and r.blocks and "could not run" in r.message and error in r.message for r in broken
    )
    assert all(r.passed for r in results if r.feed != "marts.pathway_status")  # later tables still evaluated
