"""Gate 1, row level: split each landed feed into accepted rows (raw.<feed>) and quarantined rows.

One set-based pass per feed evaluates every row-level rule of the registry (expectations/rules.py): rows
breaking a quarantining rule go to quarantine.<feed> with the rules they broke; raw.<feed>, all that dbt reads, is
a view of the rest. The rows breaking any rule stay in gate_flags.<feed> with one flag per rule, so the Great
Expectations suite (expectations/suites.py), which decides whether the feed may be used at all, judges the SQL-stated
rules from this one scan instead of scanning the feed again for each.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import duckdb

from assets.sql_text import sql_string
from contracts.extracts import Feed
from expectations.rules import GATE_FLAGS, GATE_REF, SEEDS, Rule, flag_column, row_rules


@dataclass(frozen=True)
class QuarantineOutcome:
    feed: str
    rows_received: int
    rows_quarantined: int
    rows_accepted: int
    rows_unlinkable: int
    by_rule: dict[tuple[str, str | None], int]  # (rule_id, column) -> rows breaking it


def write_gate_reference(con: duckdb.DuckDBPyConnection) -> None:
    """The small tables rules join to: the practice map and the plausible range of each observation code."""
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {GATE_REF}")
    con.execute(
        f"CREATE OR REPLACE TABLE {GATE_REF}.practice_map AS "
        f"SELECT practice_code FROM read_csv({sql_string(SEEDS / 'practice_map.csv')}, header = true, all_varchar = true)"
    )
    with open(SEEDS / "codelists" / "codelist_concepts.csv", newline="") as f:
        concepts = list(csv.DictReader(f))
    with open(SEEDS / "plausible_ranges.csv", newline="") as f:
        ranges = {r["concept"]: r for r in csv.DictReader(f)}
    selects = []
    for c in concepts:
        if c["concept"] in ranges:
            r = ranges[c["concept"]]
            path = SEEDS / "codelists" / f"{c['file']}.csv"
            selects.append(
                f"SELECT CAST({c['code_column']} AS VARCHAR) AS code, {sql_string(c['concept'])} AS concept, "
                f"{float(r['min_value'])} AS min_value, {float(r['max_value'])} AS max_value "
                f"FROM read_csv({sql_string(path)}, header = true, all_varchar = true)"
            )
    missing = set(ranges) - {c["concept"] for c in concepts}
    if missing:
        raise ValueError(
            f"seeds/plausible_ranges.csv: no codelist for concept(s) {sorted(missing)} "
            "in seeds/codelists/codelist_concepts.csv"
        )
    con.execute(
        f"CREATE OR REPLACE TABLE {GATE_REF}.plausible_value_codes AS "
        f"SELECT DISTINCT * FROM ({' UNION ALL '.join(selects)})"
    )


def rule_flag(rule: Rule) -> str:
    """The SQL flag of a row-level rule with a predicate: TRUE when the row breaks it (a NULL predicate passes)."""
    return f"COALESCE({rule.predicate}, FALSE)"


def is_repeat_rule(rule: Rule) -> bool:
    """duplicate_key (the feed's key) or duplicate_row (keyless feeds: every column): the first row of a group, by
    _row_number, is kept and each later one breaks the rule. Nulls match, as GROUP BY groups them. Each engine states
    it its own way (a semi join of the few repeated groups on DuckDB, a window on Spark)."""
    return rule.rule_id in ("duplicate_key", "duplicate_row")


def repeat_key(feed: Feed) -> list[str]:
    return list(feed.key or feed.column_names)


def flagged_rows_sql(feed: Feed, flags: list[str]) -> str:
    """The landed rows that break any rule, with one flag column per rule (flags[i] is rule i's SQL)."""
    flags_sql = ", ".join(f"{expr} AS {flag_column(i)}" for i, expr in enumerate(flags))
    any_flag = " OR ".join(flag_column(i) for i in range(len(flags))) or "FALSE"
    return (
        f"SELECT * FROM (SELECT {', '.join(feed.column_names)}, _row_number, {flags_sql} FROM landing.{feed.name}) "
        f"WHERE {any_flag}"
    )


def quarantined_rows_sql(feed: Feed, rules: list[Rule]) -> str:
    """The flagged rows that break a quarantining rule, with the names of the rules they break."""
    quarantining = [(flag_column(i), rule) for i, rule in enumerate(rules) if rule.quarantines]
    any_broken = " OR ".join(name for name, _ in quarantining) or "FALSE"
    reasons = ", ".join(f"CASE WHEN {name} THEN '{rule.check_name}' END" for name, rule in quarantining)
    return (
        f"SELECT {', '.join(feed.column_names)}, _row_number, concat_ws('; ', {reasons}) AS broken_rules "
        f"FROM {GATE_FLAGS}.{feed.name} WHERE {any_broken} ORDER BY _row_number"
    )


def accepted_rows_sql(feed: Feed) -> str:
    """raw.<feed>: the landed rows minus the quarantined ones, in the contract's columns."""
    return (
        f"SELECT {', '.join(feed.column_names)} FROM landing.{feed.name} "
        f"WHERE _row_number NOT IN (SELECT _row_number FROM quarantine.{feed.name})"
    )


def outcome_sql(feed: Feed, rules: list[Rule]) -> str:
    """One row: rows received, rows quarantined, then the rows breaking each rule (outcome_from_counts reads it)."""
    flagged = f"{GATE_FLAGS}.{feed.name}"
    any_broken = " OR ".join(flag_column(i) for i, rule in enumerate(rules) if rule.quarantines) or "FALSE"
    sums = ", ".join(f"count(*) FILTER (WHERE {flag_column(i)})" for i in range(len(rules)))
    return (
        f"SELECT (SELECT count(*) FROM landing.{feed.name}), count(*) FILTER (WHERE {any_broken}), {sums} "
        f"FROM {flagged}"
    )


def outcome_from_counts(feed: Feed, rules: list[Rule], counts: tuple | list) -> QuarantineOutcome:
    received, quarantined, per_rule = counts[0], counts[1], counts[2:]
    by_rule: dict[tuple[str, str | None], int] = {}
    unlinkable = 0
    for rule, n in zip(rules, per_rule, strict=True):
        by_rule[(rule.rule_id, rule.column)] = by_rule.get((rule.rule_id, rule.column), 0) + n
        if rule.rule_id == "unlinkable":
            unlinkable = n
    return QuarantineOutcome(feed.name, received, quarantined, received - quarantined, unlinkable, by_rule)


def quarantine_feed(con: duckdb.DuckDBPyConnection, feed: Feed, extract_date: str) -> QuarantineOutcome:
    """One scan of landing.<feed> evaluates every rule and keeps only the rows that break one (few), with a flag per
    rule, in gate_flags.<feed>; the per-rule counts and quarantine.<feed> come from those. raw.<feed> is a view of the
    landed rows minus the quarantined ones, so the feed is stored once (landing) and the accepted rows are never
    sorted or copied."""
    rules = row_rules(feed, extract_date)
    flags = []
    repeat_tables = []
    for i, rule in enumerate(rules):
        if is_repeat_rule(rule):
            # The groups are counted first and only the repeated ones (few) are joined back for their later rows:
            # listing every group's rows took 22 s of the 13-million-row gp_events at 1M.
            key_columns = repeat_key(feed)
            key = ", ".join(key_columns)
            same_key = " AND ".join(f"landed.{c} IS NOT DISTINCT FROM repeated.{c}" for c in key_columns)
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _repeats{i} AS "
                f"WITH repeated AS (SELECT {key}, min(_row_number) AS first_row FROM landing.{feed.name} "
                f"GROUP BY {key} HAVING count(*) > 1) "
                f"SELECT landed._row_number FROM landing.{feed.name} AS landed "
                f"INNER JOIN repeated ON {same_key} WHERE landed._row_number > repeated.first_row"
            )
            repeat_tables.append(f"_repeats{i}")
            flags.append(f"_row_number IN (SELECT _row_number FROM _repeats{i})")
        else:
            flags.append(rule_flag(rule))
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {GATE_FLAGS}")
    con.execute(f"CREATE OR REPLACE TABLE {GATE_FLAGS}.{feed.name} AS {flagged_rows_sql(feed, flags)}")
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"CREATE OR REPLACE TABLE quarantine.{feed.name} AS {quarantined_rows_sql(feed, rules)}")
    con.execute(f"CREATE OR REPLACE VIEW raw.{feed.name} AS {accepted_rows_sql(feed)}")
    for table in repeat_tables:
        con.execute(f"DROP TABLE {table}")
    return quarantine_outcome(con, feed, extract_date)


def quarantine_outcome(con: duckdb.DuckDBPyConnection, feed: Feed, extract_date: str) -> QuarantineOutcome:
    """The counts of a feed's quarantine pass, from its tables (landing.<feed> and gate_flags.<feed>): after the pass,
    or for a feed an incremental refresh kept from the last one (assets/incremental.py)."""
    rules = row_rules(feed, extract_date)
    return outcome_from_counts(feed, rules, con.execute(outcome_sql(feed, rules)).fetchall()[0])
