"""Ingest and gate 1 on Spark give what they give on DuckDB, feed by feed (issue 19).

One generated drop with defects of every row-level kind (the generator's 2% of rows per kind, and more damage of
the kinds it does not make), three feeds sent as CSV, and three feeds broken beyond use (a CSV integer column written as decimals, a Parquet date column written as text, a file that
is not Parquet). The DuckDB engine ingests, quarantines and judges each feed in process (assets/ingest.py,
assets/gate.py, expectations/suites.py); the Spark engine does the same in its child process
(`python -m assets.spark_ingest`, as `phm refresh --engine spark` runs it). Per feed, both must stop on the same
rule and column, or agree on every quarantine count, every expectation's result and message, and the content of the
landed, quarantined and accepted rows. And a CSV value gets the same verdict and the same typed value on both
engines, for the forms their casts read differently.
"""

from __future__ import annotations

import json
import math
from datetime import date

import duckdb
import pytest

from assets.gate import QuarantineOutcome, quarantine_feed, write_gate_reference
from assets.ingest import Drop, FeedError, csv_invalid, load_feed
from assets.paths import PROJECT_ROOT
from assets.spark_ingest import read_outcome, read_results, read_saved
from assets.sql_text import sql_string
from contracts.extracts import load_contract
from expectations.results import CheckResult
from expectations.suites import validate_feed
from tests.helpers.drops import write_manifest

pytestmark = [pytest.mark.slow, pytest.mark.spark]

PATIENTS, SEED, EXTRACT_DATE = 300, 23, date(2026, 11, 30)
CSV_FEEDS = ("gp_patients", "ecds_attendances", "gp_medications")
BROKEN = {  # feed -> (rule, column) both engines must stop on
    "csds_contacts": ("schema", "duration_minutes"),
    "mhsds_contacts": ("schema", "contact_date"),
    "asc_services": ("unreadable", None),
}
LAYERS = ("landing", "quarantine", "raw")


# Damage beyond the generator's own defects (nhs_number_invalid, unknown_practice, duplicate_key, implausible_value,
# future_date), so every kind of rule runs on both engines: feed -> {column: SQL of the damaged value}, applied to
# about 1 row in 25 (chosen by a hash of the row).
EXTRA_DAMAGE = {
    "gp_events": {"value": "CASE WHEN value IS NOT NULL THEN CAST('NaN' AS DOUBLE) END"},  # not finite
    "gp_medications": {"dmd_code": "NULL"},  # not_null
    "ecds_attendances": {"acuity": "9"},  # invalid_code: a value outside the accepted set
    "sus_op_appointments": {"treatment_function_code": "'X1'"},  # invalid_code: the pattern
    "sus_apc_spells": {"discharge_date": "admission_date - 3"},  # date_order
    "rtt_waiting_list": {"provider_code": "repeat('R', 300)"},  # text_too_long
}
REPEATED = ("gp_medications",)


def make_drop(landing):
    from synthetic import generate_drop

    generate_drop(PATIENTS, SEED, EXTRACT_DATE, landing, defect_rate=0.02)
    folder = landing / EXTRACT_DATE.isoformat()
    with duckdb.connect() as con:
        for feed, columns in EXTRA_DAMAGE.items():
            parquet = folder / f"{feed}.parquet"
            row_hash = f"hash({', '.join(load_contract()[feed].column_names)})"
            replaced = ", ".join(
                f"CASE WHEN {row_hash} % 25 = 0 THEN {damaged} ELSE {column} END AS {column}"
                for column, damaged in columns.items()
            )
            damaged = f"SELECT * REPLACE ({replaced}) FROM {sql_string(parquet)}"
            if feed in REPEATED:  # a keyless feed: some rows sent twice (duplicate_row)
                damaged += f" UNION ALL SELECT * FROM {sql_string(parquet)} WHERE {row_hash} % 25 = 1"
            con.execute(f"COPY ({damaged}) TO {sql_string(folder / 'damaged.parquet')} (FORMAT parquet)")
            (folder / "damaged.parquet").replace(parquet)
        for feed in CSV_FEEDS:
            parquet = folder / f"{feed}.parquet"
            con.execute(f"COPY (FROM {sql_string(parquet)}) TO {sql_string(folder / f'{feed}.csv')} (HEADER)")
            parquet.unlink()
        csds = folder / "csds_contacts.parquet"
        con.execute(
            f"COPY (SELECT * REPLACE (CAST(duration_minutes AS VARCHAR) || '.5' AS duration_minutes) FROM "
            f"{sql_string(csds)}) TO {sql_string(folder / 'csds_contacts.csv')} (HEADER)"
        )
        csds.unlink()
        mhsds = folder / "mhsds_contacts.parquet"
        con.execute(
            f"COPY (SELECT * REPLACE (strftime(contact_date, '%d/%m/%Y') AS contact_date) FROM {sql_string(mhsds)}) "
            f"TO {sql_string(folder / 'mhsds_text.parquet')} (FORMAT parquet)"
        )
    (folder / "mhsds_text.parquet").replace(folder / "mhsds_contacts.parquet")
    (folder / "asc_services.parquet").write_bytes(b"PAR1 not a parquet file")
    write_manifest(folder, EXTRACT_DATE)
    return Drop.open(landing, EXTRACT_DATE)


def on_duckdb(build, drop) -> dict[str, FeedError | tuple[QuarantineOutcome, list[CheckResult]]]:
    out: dict = {}
    with duckdb.connect(str(build)) as con:
        write_gate_reference(con)
        for feed in load_contract().values():
            try:
                load_feed(con, drop, feed)
            except FeedError as e:
                out[feed.name] = e
                continue
            out[feed.name] = quarantine_feed(con, feed, EXTRACT_DATE.isoformat())
    for name, outcome in out.items():
        if not isinstance(outcome, FeedError):
            out[name] = (outcome, validate_feed(str(build), name, EXTRACT_DATE.isoformat()))
    return out


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("spark_ingest")
    drop = make_drop(root / "landing")
    build = root / "build.duckdb"
    duck = on_duckdb(build, drop)
    home = root / "spark"
    feeds = [arg for name in load_contract() for arg in ("--feed", name)]
    command = [sys.executable, "-m", "assets.spark_ingest", str(build), str(drop.path), *feeds, "--home", str(home)]
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return build, home, duck


def test_the_drop_breaks_rules_in_csv_and_parquet_feeds_and_whole_feeds(engines):
    """Not a vacuous comparison: rows are quarantined in both file formats, under many rules."""
    _, _, duck = engines
    quarantined = {name: r[0].rows_quarantined for name, r in duck.items() if not isinstance(r, FeedError)}
    assert all(quarantined[feed] > 0 for feed in CSV_FEEDS), quarantined
    assert quarantined["gp_events"] > 0 and quarantined["sus_apc_spells"] > 0, quarantined
    broken_rules = {
        rule for r in duck.values() if not isinstance(r, FeedError) for rule, n in r[0].by_rule.items() if n
    }
    assert {rule for rule, _ in broken_rules} >= {
        "not_null",
        "nhs_number_invalid",
        "invalid_code",
        "implausible_value",
        "future_date",
        "date_order",
        "text_too_long",
        "duplicate_key",
        "duplicate_row",
        "unknown_practice",
    }, broken_rules
    assert any(not c.passed for r in duck.values() if not isinstance(r, FeedError) for c in r[1])
    assert {name for name, r in duck.items() if isinstance(r, FeedError)} == set(BROKEN)


@pytest.mark.parametrize("feed", list(load_contract()))
def test_each_feed_gets_the_same_outcome_and_checks_on_both_engines(engines, feed):
    _, home, duck = engines
    saved = read_saved(home, feed)
    if feed in BROKEN:
        error = duck[feed]
        assert isinstance(error, FeedError)
        assert (error.rule_id, error.column) == BROKEN[feed]
        assert "feed_error" in saved, saved.keys()
        assert (saved["feed_error"]["rule_id"], saved["feed_error"]["column"]) == BROKEN[feed]
        return
    outcome, checks = duck[feed]
    assert read_outcome(saved) == outcome
    assert read_results(saved) == checks
    assert saved["validations"] and saved["validations"][0]["suite_name"] == f"gate1_{feed}"


def test_landed_quarantined_and_accepted_rows_are_the_same_on_both_engines(engines):
    build, home, duck = engines
    compared = 0
    with duckdb.connect(str(build), read_only=True) as con:
        for feed, result in duck.items():
            if isinstance(result, FeedError):
                continue
            for layer in LAYERS:
                summary = "SELECT count(*), sum(hash(COLUMNS(*))) FROM {}"
                on_duck = con.execute(summary.format(f"{layer}.{feed}")).fetchall()
                files = sql_string(home / layer / feed / "*.parquet")
                on_spark = con.execute(summary.format(f"read_parquet({files})")).fetchall()
                assert on_spark == on_duck, (layer, feed)
                compared += 1
    assert compared == (len(load_contract()) - len(BROKEN)) * len(LAYERS)


def test_the_spark_ingest_keeps_its_tables_under_its_home(engines):
    _, home, _ = engines
    saved = json.loads((home / "gate1" / "gp_events.json").read_text())
    assert set(saved) == {"outcome", "results", "validations", "seconds"}
    assert any((home / "raw" / "gp_events").glob("*.parquet"))


# CSV text as feeds write it, for every contract type: each engine's verdict (CSV_TEXT_RULES) and typed value.
CSV_VALUES = {
    "INTEGER": ["12", " 3 ", "+7", "-0", "2.6", "0x1F", "1e3", "9999999999", "abc", "1_000"],
    "DOUBLE": ["1.5", "-1.5e2", ".5", "5.", " 2 ", "NaN", "inf", "-Infinity", "0x10", "1.5d", "1,5", "1e", "2f"],
    "DATE": ["2026-11-30", " 2026-11-30 ", "2026-1-5", "2026-11", "2026-11-30 10:00", "30/11/2026", "2026-02-30"],
    "TIMESTAMP": [
        "2026-10-01 10:15:00",
        "2026-10-01T10:15:00",
        "2026-10-01 10:15",
        "2026-10-01",
        "2026-10-01 10:15:00.123456",
        "2026-10-01 10:15:00Z",
        "2026-10-01T10:15:00+01:00",
        "2026-10",
        "2026-10-01 25:00:00",
        "1/10/2026 10:15",
    ],
    "BOOLEAN": ["true", "false", "TRUE", " true ", "t", "1", "yes", "n", "truth"],
}


def same_value(row: tuple) -> tuple:
    """NaN as one value (it is unequal to itself)."""
    return tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in row)


def test_a_csv_value_gets_the_same_verdict_and_value_on_both_engines(tmp_path):
    from assets.spark_ingest import SPARK_TYPES, ingest_session, to_spark_sql

    cases = [(sql_type, value) for sql_type, values in CSV_VALUES.items() for value in values]
    on_duck, on_spark = [], []
    with duckdb.connect() as con:
        for sql_type, value in cases:
            invalid = csv_invalid("v", sql_type)
            on_duck.append(
                con.execute(
                    f"SELECT {invalid}, CASE WHEN NOT ({invalid}) THEN CAST(v AS {sql_type}) END FROM (SELECT ? AS v)",
                    [value],
                ).fetchone()
            )
    spark = ingest_session(tmp_path / "spark")
    try:
        for sql_type, value in cases:
            invalid = to_spark_sql(csv_invalid("v", sql_type))
            typed = f"CAST(v AS {SPARK_TYPES[sql_type]})"
            row = spark.sql(
                f"SELECT {invalid}, CASE WHEN NOT ({invalid}) THEN {typed} END FROM (SELECT {sql_string(value)} AS v)"
            ).collect()[0]
            on_spark.append((row[0], row[1]))
    finally:
        spark.stop()
    differ = [
        (case, d, s) for case, d, s in zip(cases, on_duck, on_spark, strict=True) if same_value(d) != same_value(s)
    ]
    assert not differ, differ
    verdicts = {case: invalid for case, (invalid, _) in zip(cases, on_duck, strict=True)}
    assert not verdicts[("TIMESTAMP", "2026-10-01T10:15:00")] and verdicts[("TIMESTAMP", "2026-10-01 10:15:00Z")]
    assert not verdicts[("DOUBLE", "NaN")] and verdicts[("DOUBLE", "1.5d")] and verdicts[("DATE", "2026-11")]
    assert sum(verdicts.values()) >= 20 and sum(not v for v in verdicts.values()) >= 20
