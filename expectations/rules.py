"""The gate-1 rule registry: every row-level and feed-level rule for every feed, derived from the contract.

A rule is data (OHDSI-style: check type x threshold x severity). Each row-level rule has one SQL predicate
(TRUE when a row breaks it); the quarantine pass and the Great Expectations suite (expectations/suites.py)
are both compiled from it, so the row that is quarantined and the rate that blocks are the same thing.
Thresholds and severities come from seeds/quality_thresholds.csv.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from contracts.code_values import load_code_values
from contracts.extracts import Feed

SEEDS = Path(__file__).resolve().parent.parent / "seeds"

# Schema in the build file holding the small reference tables rules join to (written by ingest).
GATE_REF = "gate_ref"
# Schema in the build file holding, per feed, the landed rows that break any row rule with one flag per rule
# (written by the quarantine pass, assets/gate.py; read by the gate-1 suite, expectations/suites.py). Never published.
GATE_FLAGS = "gate_flags"


def flag_column(position: int) -> str:
    """The column of gate_flags.<feed> that is TRUE where a row breaks the rule at this position of row_rules()."""
    return f"breaks_rule_{position}"


REGEX = {
    "ods": "[A-Z][A-Z0-9]{2,5}",
    "lsoa": "E01[0-9]{6}",
    "snomed": "[0-9]{6,18}",
    "dmd": "[0-9]{6,20}",
    "icd10": "[A-Z][0-9]{2}[0-9A-Z]{0,2}",
    "icd10_list": "[A-Z][0-9]{2}[0-9A-Z]{0,2}(;[A-Z][0-9]{2}[0-9A-Z]{0,2})*",
    "icd10_cancer": "C[0-9]{2}[0-9A-Z]{0,2}",
    "opcs4": "[A-Z][0-9]{2}[0-9]?",
    "treatment_function": "[0-9]{3}",
}
REGEX_BY_COLUMN = {
    "practice_code": "ods",
    "provider_code": "ods",
    "lsoa_code": "lsoa",
    "snomed_code": "snomed",
    "diagnosis_snomed": "snomed",
    "dmd_code": "dmd",
    "primary_diagnosis_icd10": "icd10",
    "secondary_diagnoses_icd10": "icd10_list",
    "site_icd10": "icd10_cancer",
    "primary_procedure_opcs4": "opcs4",
    "treatment_function_code": "treatment_function",
}
# Accepted code values: seeds/code_values.csv, read by contracts/code_values.py (accepted_values below).
# Numeric bounds outside the clinical observation ranges (which come from seeds/plausible_ranges.csv).
NUMERIC_BOUNDS = {
    ("gp_medications", "quantity"): (0.0, 100000.0),
    ("csds_contacts", "duration_minutes"): (0, 1440),
    ("asc_services", "weekly_cost_gbp"): (0.0, 50000.0),
}
# (end, start) pairs whose order a row must respect.
DATE_ORDER = {
    "gp_patients": [
        ("registration_end_date", "registration_start_date"),
        ("date_of_death", "date_of_birth"),
        ("registration_start_date", "date_of_birth"),
    ],
    "sus_apc_spells": [("discharge_date", "admission_date")],
    "ecds_attendances": [("departure_datetime", "arrival_datetime")],
    "asc_services": [("service_end_date", "service_start_date")],
}
EARLIEST_DATE = "1900-01-01"


@dataclass(frozen=True)
class Threshold:
    max_failure_rate: float
    severity: str  # "block": failing stops the refresh; "warn": recorded only
    description: str


@dataclass(frozen=True)
class Rule:
    """One check of one feed. Row-level rules carry a SQL predicate over the feed's columns."""

    rule_id: str
    feed: str
    column: str | None
    # TRUE when the row breaks the rule; None for feed-level rules and for repeats (the quarantine pass groups the key)
    predicate: str | None
    quarantines: bool  # failing rows go to quarantine (False: kept and only counted, e.g. unlinkable)
    threshold: Threshold
    # How the GX suite states it natively: ("not_null",), ("in_set", values), ("between", lo, hi),
    # ("in_practice_map",); None = judged from the quarantine pass's flag for the rule (gate_flags.<feed>).
    gx_form: tuple | None = None

    @property
    def check_name(self) -> str:
        return f"{self.rule_id}:{self.column}" if self.column else self.rule_id


@cache
def thresholds() -> dict[tuple[str, str], Threshold]:
    with open(SEEDS / "quality_thresholds.csv", newline="") as f:
        return {
            (r["rule_id"], r["feed"]): Threshold(float(r["max_failure_rate"]), r["severity"], r["description"])
            for r in csv.DictReader(f)
        }


@cache
def text_limits() -> dict[tuple[str, str], int]:
    """(feed, column) -> the most characters a text value may have; ('*', '*') is every other text column."""
    with open(SEEDS / "text_limits.csv", newline="") as f:
        return {(r["feed"], r["feed_column"]): int(r["max_characters"]) for r in csv.DictReader(f)}


def text_limit(feed: str, column: str) -> int:
    table = text_limits()
    found = table.get((feed, column)) or table.get(("*", "*"))
    if found is None:
        raise KeyError(f"seeds/text_limits.csv has no row for {feed}.{column} or '*,*'")
    return found


def threshold(rule_id: str, feed: str) -> Threshold:
    table = thresholds()
    found = table.get((rule_id, feed)) or table.get((rule_id, "*"))
    if found is None:
        raise KeyError(f"seeds/quality_thresholds.csv has no row for rule {rule_id!r} (feed {feed!r} or '*')")
    return found


def nhs_number_is_valid_sql(col: str) -> str:
    """Modulus-11 check (NHS Data Dictionary): weights 10..2 on the first nine digits; check 10 is never valid."""
    weighted = " + ".join(f"TRY_CAST(substr({col}, {i}, 1) AS INTEGER) * {11 - i}" for i in range(1, 10))
    return (
        f"(CASE WHEN regexp_full_match({col}, '[0-9]{{10}}') "
        f"THEN (11 - (({weighted}) % 11)) % 11 = TRY_CAST(substr({col}, 10, 1) AS INTEGER) ELSE FALSE END)"
    )


def _sql_literal(v: str | int) -> str:
    return "'" + str(v).replace("'", "''") + "'" if isinstance(v, str) else str(v)


def accepted_values(feed: Feed, column: str) -> list[str | int]:
    """A coded column's accepted values, from seeds/code_values.csv (typed like the column: acuity is an int)."""
    codes = load_code_values()[(feed.name, column)]
    if feed.column(column).type == "int":
        return [int(v) for v in codes]
    return list(codes)


def row_rules(feed: Feed, extract_date: str) -> list[Rule]:
    """Every row-level rule of a feed, in a stable order."""
    name = feed.name
    rules: list[Rule] = []

    def add(
        rule_id: str, column: str, predicate: str | None, gx_form: tuple | None = None, quarantines: bool = True
    ) -> None:
        rules.append(Rule(rule_id, name, column, predicate, quarantines, threshold(rule_id, name), gx_form))

    for c in feed.columns:
        if not c.nullable:
            add("not_null", c.name, f"{c.name} IS NULL", ("not_null",))
    if "nhs_number" in feed.column_names:
        add(
            "nhs_number_invalid",
            "nhs_number",
            f"nhs_number IS NOT NULL AND NOT {nhs_number_is_valid_sql('nhs_number')}",
        )
        if feed.column("nhs_number").nullable:
            add("unlinkable", "nhs_number", "nhs_number IS NULL", ("not_null",), quarantines=False)
    code_values = load_code_values()
    for c in feed.columns:
        if (name, c.name) in code_values:
            values = accepted_values(feed, c.name)
            add(
                "invalid_code",
                c.name,
                f"{c.name} IS NOT NULL AND {c.name} NOT IN ({', '.join(_sql_literal(v) for v in values)})",
                ("in_set", tuple(values)),
            )
        elif c.name in REGEX_BY_COLUMN:
            add(
                "invalid_code",
                c.name,
                f"{c.name} IS NOT NULL AND NOT regexp_full_match({c.name}, '{REGEX[REGEX_BY_COLUMN[c.name]]}')",
            )
    if name == "gp_events":
        add(
            "implausible_value",
            "value",
            # NaN and infinity are no measurement, whatever the code (NaN also sorts above every maximum)
            f"value IS NOT NULL AND (NOT isfinite(value) OR EXISTS (SELECT 1 FROM {GATE_REF}.plausible_value_codes r "
            f"WHERE r.code = snomed_code AND (value < r.min_value OR value > r.max_value)))",
        )
    text_columns = [c.name for c in feed.columns if c.type == "string"]
    if text_columns:
        # One rule over every text column (one scan, not one per column): a value far longer than any code or
        # identifier is a broken row (a 10 MB string), whichever column holds it.
        add(
            "text_too_long",
            ",".join(text_columns),
            " OR ".join(f"length({c}) > {text_limit(name, c)}" for c in text_columns),
        )
    for (feed_name, col), (lo, hi) in NUMERIC_BOUNDS.items():
        if feed_name == name:
            add("implausible_value", col, f"{col} IS NOT NULL AND ({col} < {lo} OR {col} > {hi})", ("between", lo, hi))
    for c in feed.columns:
        if c.type in ("date", "timestamp"):
            # A date after the extract date is a future date; a date before 1900 is implausible.
            upper = f"DATE '{extract_date}'" if c.type == "date" else f"TIMESTAMP '{extract_date} 23:59:59'"
            add("future_date", c.name, f"{c.name} > {upper}", ("between", None, (extract_date, c.type)))
            add(
                "implausible_value",
                c.name,
                f"{c.name} < DATE '{EARLIEST_DATE}'",
                ("between", (EARLIEST_DATE, c.type), None),
            )
    for end, start in DATE_ORDER.get(name, []):
        add("date_order", end, f"{end} < {start}")
    if "practice_code" in feed.column_names:
        add(
            "unknown_practice",
            "practice_code",
            f"practice_code IS NOT NULL AND practice_code NOT IN (SELECT practice_code FROM {GATE_REF}.practice_map)",
            ("in_practice_map",),
        )
    if feed.key:
        # Only the repeats are defects: the first row of a key (in a stable order) is kept.
        add("duplicate_key", ",".join(feed.key), None)
    else:
        # A keyless feed's exact repeats (a row sent twice); nulls compare equal, as in the quarantine pass.
        add("duplicate_row", ",".join(feed.column_names), None)
    return rules


def feed_rules(feed: Feed) -> list[Rule]:
    """Feed-level rules checked on the whole table (structural rules are enforced by ingest itself)."""
    return [
        Rule(rule_id, feed.name, None, None, False, threshold(rule_id, feed.name))
        for rule_id in ("empty_feed", "volume_change", "quarantined_total")
    ]
