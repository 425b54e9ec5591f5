"""Great Expectations suites on DuckDB: they run (the GX patch still works), pass on clean data, and block
on the rates and volumes their thresholds forbid."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from expectations.suites import validate_feed
from tests.helpers.drops import land_and_quarantine, minimal_rows, valid_nhs_numbers

EXTRACT = date(2026, 11, 25)


def landed(make_drop, tmp_path, feed_name, rows):
    db = tmp_path / "build.duckdb"
    con = duckdb.connect(str(db))
    outcome = land_and_quarantine(con, make_drop({feed_name: rows}), EXTRACT, feed_name)
    con.close()
    return str(db), outcome


def by_rule(results):
    return {(r.rule_id, r.column): r for r in results}


def event_rows(n, **change):
    base = minimal_rows(EXTRACT)["gp_events"][0]
    return [{**base, "nhs_number": num, **change} for num in valid_nhs_numbers(n)]


def test_every_expectation_runs_and_passes_on_clean_data(make_drop, tmp_path):
    db, _ = landed(make_drop, tmp_path, "gp_events", event_rows(200))
    results = validate_feed(db, "gp_events", EXTRACT.isoformat())
    assert results, "the suite is empty"
    assert [r for r in results if "could not run" in r.message] == []  # GX on DuckDB still works (gx_duckdb patch)
    assert all(r.passed for r in results), [r for r in results if not r.passed]
    kinds = {r.expectation_type for r in results}
    assert {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_in_set",
        "unexpected_rows_expectation",
        "expect_table_row_count_to_be_between",
    } <= kinds


def test_rate_under_threshold_passes_and_over_threshold_blocks(make_drop, tmp_path):
    # 1 invalid NHS number in 200 rows (0.5%) is under the 1% threshold; 5 in 200 (2.5%) is over it.
    rows = event_rows(200)
    under = [*rows[:199], {**rows[199], "nhs_number": "9434765918"}]
    db, outcome = landed(make_drop, tmp_path, "gp_events", under)
    assert outcome.by_rule[("nhs_number_invalid", "nhs_number")] == 1
    assert by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("nhs_number_invalid", "nhs_number")].passed

    over = rows[:195] + [{**r, "nhs_number": "9434765918"} for r in rows[195:]]
    db, outcome = landed(make_drop, tmp_path, "gp_events", over)
    check = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("nhs_number_invalid", "nhs_number")]
    assert not check.passed and check.blocks
    assert check.observed_count == outcome.by_rule[("nhs_number_invalid", "nhs_number")] == 5


def test_native_expectation_counts_agree_with_quarantine(make_drop, tmp_path):
    rows = event_rows(100)
    rows[:3] = [{**r, "practice_code": "Z99999"} for r in rows[:3]]
    db, outcome = landed(make_drop, tmp_path, "gp_events", rows)
    check = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("unknown_practice", "practice_code")]
    assert check.observed_count == outcome.by_rule[("unknown_practice", "practice_code")] == 3
    assert not check.passed  # 3% > 1%


# 200 rows now: within 30% of the last refresh passes, beyond it blocks (seeds/quality_thresholds.csv).
@pytest.mark.parametrize(
    "previous, passes", [(200, True), (154, True), (153, False), (285, True), (286, False), (None, True)]
)
def test_volume_against_previous_refresh(make_drop, tmp_path, previous, passes):
    db, _ = landed(make_drop, tmp_path, "gp_events", event_rows(200))
    results = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat(), previous_rows=previous))
    if previous is None:
        assert ("volume_change", None) not in results
    else:
        assert results[("volume_change", None)].passed is passes


def test_empty_feed_blocks(make_drop, tmp_path):
    db, _ = landed(make_drop, tmp_path, "gp_events", [])
    check = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("empty_feed", None)]
    assert not check.passed and check.blocks


def test_exact_repeats_in_a_keyless_feed_are_quarantined_and_a_doubled_extract_blocks(make_drop, tmp_path):
    rows = event_rows(1000)
    db, outcome = landed(make_drop, tmp_path, "gp_events", [*rows, rows[0]])  # one row sent twice
    assert outcome.by_rule[("duplicate_row", ",".join(rows[0]))] == 1 and outcome.rows_accepted == 1000
    assert by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("duplicate_row", ",".join(rows[0]))].passed

    db, outcome = landed(make_drop, tmp_path, "gp_events", rows + rows)  # the whole extract twice
    assert outcome.rows_quarantined == 1000 and outcome.rows_accepted == 1000
    check = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("duplicate_row", ",".join(rows[0]))]
    assert not check.passed and check.blocks


def test_rules_each_under_their_threshold_still_block_together(make_drop, tmp_path):
    # 250 rows: 2 invalid NHS numbers, 2 invalid codes, 2 future dates: 0.8% each, under 1%; 2.4% in all, over 2%
    rows = event_rows(250)
    broken = (
        [{**r, "nhs_number": "9434765918"} for r in rows[:2]]
        + [{**r, "snomed_code": "not-a-code"} for r in rows[2:4]]
        + [{**r, "event_date": date(2027, 1, 1)} for r in rows[4:6]]
    )
    db, outcome = landed(make_drop, tmp_path, "gp_events", broken + rows[6:])
    assert outcome.rows_quarantined == 6
    results = by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))
    assert results[("nhs_number_invalid", "nhs_number")].passed and results[("future_date", "event_date")].passed
    total = results[("quarantined_total", None)]
    assert not total.passed and total.blocks
    # one rule fewer (1.6% in all) passes
    db, _ = landed(make_drop, tmp_path, "gp_events", broken[:4] + rows[4:])
    assert by_rule(validate_feed(db, "gp_events", EXTRACT.isoformat()))[("quarantined_total", None)].passed


@pytest.mark.parametrize("future_deaths, passes", [(1, True), (3, False)])
def test_a_mostly_empty_columns_rate_is_a_share_of_every_row_as_quarantine_counts_it(
    make_drop, tmp_path, future_deaths, passes
):
    # 10 deaths among 200 people, some dated after the extract: 1 is 0.5% of the rows (under 1%) though 10% of the
    # deaths; 3 is 1.5% (over). GX alone would judge 1 in 10 against the 1% threshold and block.
    base = minimal_rows(EXTRACT)["gp_patients"][0]
    rows = [{**base, "nhs_number": number} for number in valid_nhs_numbers(200)]
    deaths = [date(2026, 1, 1)] * (10 - future_deaths) + [date(2027, 1, 1)] * future_deaths
    for row, died in zip(rows, deaths, strict=False):
        row["date_of_death"] = died
    db, outcome = landed(make_drop, tmp_path, "gp_patients", rows)
    assert outcome.by_rule[("future_date", "date_of_death")] == future_deaths
    check = by_rule(validate_feed(db, "gp_patients", EXTRACT.isoformat()))[("future_date", "date_of_death")]
    assert (check.observed_count, check.observed_rate) == (future_deaths, pytest.approx(future_deaths / 200))
    assert check.passed is passes
