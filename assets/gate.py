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
from expectations.rules import GATE_FLAGS, GATE_REF, SEEDS, flag_column, row_rules


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


def quarantine_feed(con: duckdb.DuckDBPyConnection, feed: Feed, extract_date: str) -> QuarantineOutcome:
    """One scan of landing.<feed> evaluates every rule and keeps only the rows that break one (few), with a flag per
    rule, in gate_flags.<feed>; the per-rule counts and quarantine.<feed> come from those. raw.<feed> is a view of the
    landed rows minus the quarantined ones, so the feed is stored once (landing) and the accepted rows are never
    sorted or copied."""
    rules = row_rules(feed, extract_date)
    flag_columns = []
    repeat_tables = []
    for i, rule in enumerate(rules):
        if rule.rule_id in ("duplicate_key", "duplicate_row"):
            # duplicate_key: the feed's key; duplicate_row (keyless feeds): every column. The first row of each
            # group is kept; the later ones (few) are listed, and flagged by a lookup. The groups are counted
            # first and only the repeated ones (few) are joined back for their later rows: listing every group's
            # rows took 22 s of the 13-million-row gp_events at 1M. Nulls match, as GROUP BY groups them.
            key_columns = feed.key or feed.column_names
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
            expr = f"_row_number IN (SELECT _row_number FROM _repeats{i})"
        else:
            expr = f"COALESCE({rule.predicate}, FALSE)"
        flag_columns.append((flag_column(i), expr, rule))
    flags_sql = ", ".join(f"{expr} AS {name}" for name, expr, _ in flag_columns)
    any_flag = " OR ".join(name for name, _, _ in flag_columns) or "FALSE"
    columns = ", ".join(feed.column_names)
    flagged = f"{GATE_FLAGS}.{feed.name}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {GATE_FLAGS}")
    con.execute(
        f"CREATE OR REPLACE TABLE {flagged} AS SELECT * FROM "
        f"(SELECT {columns}, _row_number, {flags_sql} FROM landing.{feed.name}) WHERE {any_flag}"
    )

    quarantining = [(name, rule) for name, _, rule in flag_columns if rule.quarantines]
    any_broken = " OR ".join(name for name, _ in quarantining) or "FALSE"
    reasons = ", ".join(f"CASE WHEN {name} THEN '{rule.check_name}' END" for name, rule in quarantining)
    con.execute("CREATE SCHEMA IF NOT EXISTS quarantine")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE OR REPLACE TABLE quarantine.{feed.name} AS "
        f"SELECT {columns}, _row_number, concat_ws('; ', {reasons}) AS broken_rules "
        f"FROM {flagged} WHERE {any_broken} ORDER BY _row_number"
    )
    con.execute(
        f"CREATE OR REPLACE VIEW raw.{feed.name} AS SELECT {columns} FROM landing.{feed.name} "
        f"WHERE _row_number NOT IN (SELECT _row_number FROM quarantine.{feed.name})"
    )

    for table in repeat_tables:
        con.execute(f"DROP TABLE {table}")
    return quarantine_outcome(con, feed, extract_date)


def quarantine_outcome(con: duckdb.DuckDBPyConnection, feed: Feed, extract_date: str) -> QuarantineOutcome:
    """The counts of a feed's quarantine pass, from its tables (landing.<feed> and gate_flags.<feed>): after the pass,
    or for a feed an incremental refresh kept from the last one (assets/incremental.py)."""
    rules = row_rules(feed, extract_date)
    flagged = f"{GATE_FLAGS}.{feed.name}"
    any_broken = " OR ".join(flag_column(i) for i, rule in enumerate(rules) if rule.quarantines) or "FALSE"
    sums = ", ".join(f"count(*) FILTER (WHERE {flag_column(i)})" for i in range(len(rules)))
    counts = con.execute(
        f"SELECT (SELECT count(*) FROM landing.{feed.name}), count(*) FILTER (WHERE {any_broken}), {sums} FROM {flagged}"
    ).fetchall()[0]
    received, quarantined, per_rule = counts[0], counts[1], counts[2:]
    by_rule: dict[tuple[str, str | None], int] = {}
    unlinkable = 0
    for rule, n in zip(rules, per_rule, strict=True):
        by_rule[(rule.rule_id, rule.column)] = by_rule.get((rule.rule_id, rule.column), 0) + n
        if rule.rule_id == "unlinkable":
            unlinkable = n
    return QuarantineOutcome(feed.name, received, quarantined, received - quarantined, unlinkable, by_rule)
