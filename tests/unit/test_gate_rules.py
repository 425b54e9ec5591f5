"""Gate 1 row rules: each fires on the row that breaks it, and only there."""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

import duckdb
import pytest

from contracts.extracts import load_contract
from expectations.rules import nhs_number_is_valid_sql
from tests.helpers.drops import land_and_quarantine, minimal_rows, nhs_check_digit, valid_nhs_numbers

EXTRACT = date(2026, 11, 25)
# the minimal gp_events row is a systolic BP (72313002); its plausible range is the seed's
with open(Path(__file__).resolve().parents[2] / "seeds" / "plausible_ranges.csv", newline="") as _f:
    SBP_MIN, SBP_MAX = next(
        (float(r["min_value"]), float(r["max_value"])) for r in csv.DictReader(_f) if r["concept"] == "systolic_bp"
    )

EGFR = "1011481000000105"  # the first code of ukrr-egfr-tests-level (seeds/codelists)
SPELL_TEXT_COLUMNS = ",".join(c.name for c in load_contract()["sus_apc_spells"].columns if c.type == "string")


def python_valid(n: str) -> bool:
    return len(n) == 10 and n.isdigit() and nhs_check_digit(n[:9]) == int(n[9])


def test_nhs_number_sql_agrees_with_modulus_11():
    rng = random.Random(7)
    samples = [f"{rng.randrange(10**10):010d}" for _ in range(3000)] + valid_nhs_numbers(200)
    samples += ["9434765919", "9434765918", "943476591", "94347659190", "94347A5919", " 943476591"]
    con = duckdb.connect()
    got = con.execute(f"SELECT n, {nhs_number_is_valid_sql('n')} FROM unnest(?) t(n)", [samples]).fetchall()
    assert {n: v for n, v in got} == {n: python_valid(n) for n in samples}
    assert python_valid("9434765919")  # the NHS Data Dictionary's worked example
    # a nine-digit stem whose check digit would be 10 has no valid number at all
    stem = next(f"{i:09d}" for i in range(900000000, 900001000) if nhs_check_digit(f"{i:09d}") is None)
    assert not any(python_valid(stem + str(d)) for d in range(10))


def quarantine(make_drop, feed_name, rows):
    con = duckdb.connect()
    outcome = land_and_quarantine(con, make_drop({feed_name: rows}), EXTRACT, feed_name)
    broken = [
        r[0] for r in con.execute(f"SELECT broken_rules FROM quarantine.{feed_name} ORDER BY _row_number").fetchall()
    ]
    accepted = con.execute(f"SELECT count(*) FROM raw.{feed_name}").fetchall()[0][0]
    return outcome, broken, accepted


def test_clean_minimal_drop_quarantines_nothing(make_drop):
    for feed_name in load_contract():
        outcome, broken, accepted = quarantine(make_drop, feed_name, minimal_rows(EXTRACT)[feed_name])
        assert broken == [], feed_name
        assert accepted == outcome.rows_received > 0


@pytest.mark.parametrize(
    "feed_name, change, expected",
    [
        ("gp_events", {"nhs_number": "9434765918"}, "nhs_number_invalid:nhs_number"),
        ("gp_events", {"value": SBP_MAX + 0.5}, "implausible_value:value"),  # systolic BP above its plausible range
        ("gp_events", {"value": SBP_MAX}, None),  # the bound itself is plausible
        ("gp_events", {"value": SBP_MIN - 0.5}, "implausible_value:value"),
        ("gp_events", {"value": float("nan")}, "implausible_value:value"),
        ("gp_events", {"snomed_code": EGFR, "value": float("nan")}, "implausible_value:value"),  # issue 16
        ("gp_events", {"snomed_code": EGFR, "value": 0.5}, "implausible_value:value"),
        ("gp_events", {"snomed_code": EGFR, "value": 88.0}, None),
        # a code with no plausible range still needs a number
        ("gp_events", {"snomed_code": "999999001", "value": float("inf")}, "implausible_value:value"),
        ("gp_events", {"snomed_code": "999999001", "value": -3.0}, None),
        ("gp_events", {"unit": "x" * 65}, "text_too_long:nhs_number,practice_code,snomed_code,unit"),
        ("gp_events", {"unit": "x" * 64}, None),
        ("sus_apc_spells", {"spell_id": "S" * 10_000_000}, "text_too_long:" + SPELL_TEXT_COLUMNS),  # 10 MB
        ("gp_events", {"snomed_code": "12AB"}, "invalid_code:snomed_code"),
        ("gp_events", {"event_date": date(2026, 11, 26)}, "future_date:event_date"),
        ("gp_events", {"event_date": date(2026, 11, 25)}, None),  # the extract date itself is fine
        ("gp_events", {"practice_code": "Z99999"}, "unknown_practice:practice_code"),
        ("gp_events", {"snomed_code": None}, "not_null:snomed_code"),
        ("gp_medications", {"quantity": -5.0}, "implausible_value:quantity"),
        ("sus_apc_spells", {"admission_method": "99"}, "invalid_code:admission_method"),
        ("sus_apc_spells", {"discharge_date": date(2020, 1, 1)}, "date_order:discharge_date"),
        ("sus_apc_spells", {"primary_diagnosis_icd10": "J44.1"}, "invalid_code:primary_diagnosis_icd10"),
        ("ecds_attendances", {"acuity": 7}, "invalid_code:acuity"),
        ("gp_patients", {"sex": "M"}, "invalid_code:sex"),
        ("gp_patients", {"lsoa_code": "W01000001"}, "invalid_code:lsoa_code"),
        ("gp_patients", {"date_of_birth": date(1850, 1, 1)}, "implausible_value:date_of_birth"),
        ("cancer_registrations", {"site_icd10": "D051"}, "invalid_code:site_icd10"),
        ("asc_services", {"la_code": "E10000099"}, "invalid_code:la_code"),
    ],
)
def test_rule_fires_on_the_row_that_breaks_it(make_drop, feed_name, change, expected):
    good = minimal_rows(EXTRACT)[feed_name][0]
    outcome, broken, accepted = quarantine(make_drop, feed_name, [good, {**good, **_new_key(feed_name), **change}])
    if expected is None:
        assert broken == [] and accepted == 2
    else:
        assert broken == [expected]
        assert accepted == 1
        rule_id, column = expected.split(":")
        assert outcome.by_rule[(rule_id, column)] == 1


def _new_key(feed_name):
    """A second row that does not repeat the first one's key."""
    key = load_contract()[feed_name].key
    if not key:
        return {}
    if key[0] == "nhs_number":
        return {"nhs_number": valid_nhs_numbers(1, start=910000000)[0]}
    return {key[0]: "second"}


def test_duplicate_key_quarantines_only_the_repeats(make_drop):
    row = minimal_rows(EXTRACT)["sus_apc_spells"][0]
    _outcome, broken, accepted = quarantine(make_drop, "sus_apc_spells", [row, row, row])
    assert broken == ["duplicate_key:spell_id", "duplicate_key:spell_id"]
    assert accepted == 1


def test_unlinkable_rows_are_kept_and_counted(make_drop):
    row = minimal_rows(EXTRACT)["sus_op_appointments"][0]
    outcome, broken, accepted = quarantine(
        make_drop, "sus_op_appointments", [row, {**row, "appointment_id": "O2", "nhs_number": None}]
    )
    assert broken == [] and accepted == 2
    assert outcome.rows_unlinkable == 1
