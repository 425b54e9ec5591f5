"""Gate 2: the registry (seeds/mart_checks.csv) compiles, every check passes on hand-made marts that keep the
contract, and each check fires, with its rows failing, on a table that breaks it. The compiled SQL is run
directly (milliseconds); the Great Expectations suites built from it are run on a few cases at the end."""

from __future__ import annotations

import dataclasses

import duckdb
import pytest

from expectations.mart_checks import CHECK_TYPES, load_registry, table_query, tables
from tests.helpers.marts import BREAKAGES, clean_marts

REGISTRY = load_registry()


@pytest.fixture
def con():
    connection = duckdb.connect()
    clean_marts(connection)
    yield connection
    connection.close()


def failing(con, registry=REGISTRY) -> dict[str, int]:
    """check_id -> rows failing, over every table of the registry."""
    out = {}
    for table_name in tables(registry):
        out.update({row[0]: row[1] for row in con.execute(table_query(table_name, registry)).fetchall()})
    return out


def test_registry_is_complete_and_every_type_is_used():
    assert {c.check_type for c in REGISTRY} == set(CHECK_TYPES)
    assert set(tables(REGISTRY)) == {
        "target_lists",
        "target_list_summary",
        "pathway_status",
        "person_risk",
        "reversible_risk",
        "core20plus5_indicators",
    }
    assert all(c.severity in ("block", "warn") and c.description and c.source for c in REGISTRY)


def test_registry_rejects_a_row_it_cannot_compile(tmp_path):
    bad = tmp_path / "mart_checks.csv"
    header = (
        "check_id,table_name,check_type,column_names,parameters,filter_column,filter_value,min_value,max_value,"
        "min_population,severity,description,source\n"
    )
    bad.write_text(
        header + "x,person_risk,no_such_type,risk_tier,,,,,,,block,d,s\n"
        "y,person_risk,value_between,risk_score,,,,,,,fatal,d,s\n"
    )
    with pytest.raises(ValueError, match=r"x: unknown check_type.*y: severity 'fatal'.*y: value_between needs"):
        load_registry(bad)


def test_every_check_passes_on_marts_that_keep_the_contract(con):
    assert failing(con) == {}


def test_every_registry_check_has_a_breakage_case():
    assert set(BREAKAGES) == {c.check_id for c in REGISTRY}


@pytest.mark.parametrize("check_id", sorted(BREAKAGES))
def test_each_check_fires_on_the_table_that_breaks_it(con, check_id):
    sql, rows_failing = BREAKAGES[check_id]
    con.execute(sql)
    assert failing(con) == {check_id: rows_failing}


def test_boundaries_pass_exactly_at_the_bound(con):
    con.execute(
        "UPDATE marts.core20plus5_indicators SET value = 100.0, numerator = denominator "
        "WHERE value_unit = 'percent' AND NOT suppressed"
    )
    con.execute(
        "UPDATE marts.core20plus5_indicators SET value = 1000.0, numerator = 1000 WHERE value_unit = 'per_1000'"
    )
    # per_1000 indicators may count several events per person: numerator <= denominator is for percentages only
    assert failing(con) == {}


def test_tier_shares_read_the_cut_offs_from_reference_thresholds(con):
    con.execute("UPDATE reference.thresholds SET value = 2.0 WHERE rule_id = 'risk_tier_very_high_pct'")
    assert failing(con) == {"person_risk_tier_shares": 2}  # Very high now 1% of a 2% target; High 4% of 3%
    con.execute("DELETE FROM reference.thresholds WHERE rule_id = 'risk_tier_medium_pct'")
    detail = con.execute(table_query("person_risk", REGISTRY)).fetchall()[0][2]
    assert "Medium: no threshold risk_tier_medium_pct in reference.thresholds" in detail


def test_share_checks_need_their_min_population():
    """Below min_population one person moves a share by more than the tolerance: shares are not judged."""
    small = duckdb.connect()
    clean_marts(small, people=40)
    small.execute("UPDATE marts.person_risk SET risk_tier = 'Very high' WHERE risk_rank <= 10")  # 25%
    small.execute(
        "INSERT INTO marts.target_lists SELECT 'waiting_well', neighbourhood, practice_code, person_id, 1, "
        "'r', 'a', true FROM marts.person"
    )  # 100% of people
    assert failing(small) == {}
    lowered = [dataclasses.replace(c, min_population=40) if c.min_population else c for c in REGISTRY]
    assert failing(small, lowered) == {"person_risk_tier_shares": 4, "target_lists_size_share": 1}
