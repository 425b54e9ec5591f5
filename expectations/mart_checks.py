"""The gate-2 check registry: checks on the published marts, as data (OHDSI style: type x threshold x severity).

Each row of seeds/mart_checks.csv is one check of one mart table. This module reads the registry and compiles
the checks of a table into ONE SQL query that makes a single aggregate pass over the table (plus one small
grouped pass for share checks) and returns a row (check_id, rows_failing, detail) only for the checks that
fail. expectations/mart_suites.py wraps that query in a Great Expectations UnexpectedRowsExpectation, so the
GX suite and this registry are the same thing. No GX import here: publish reads the registry too.

Check types (columns of the seed; `parameters` is a |-separated list whose meaning depends on the type):
  unique_combination         column_names: the key; rows failing = rows repeating a key
  not_blank                  column_names: each must be non-null and not blank
  accepted_values            column_names: one column; parameters: the allowed values
  value_between              column_names: one column; min_value / max_value; nulls (suppressed) pass
  not_greater_than           column_names: one column; parameters: the column it may not exceed
  count_of_true_flags        column_names: the count column; parameters: the boolean flags it counts
  matches_person             column_names: columns that must equal marts.person's for the row's person_id
  same_people_as_person      rows failing = people in the table or marts.person but not both
  group_share_of_population  column_names: the group; max_value: max % of marts.person's rows in one group
  tier_shares                column_names: the tier column; parameters: tier:threshold_rule_id in rank order
                             (cumulative % cut-offs read from reference.thresholds; the last tier takes the
                             rest); max_value: allowed difference in percentage points
filter_column / filter_value restrict a row-level check to rows where filter_column = filter_value.
min_population: share checks apply only when the population they divide by has at least this many rows.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
REGISTRY_PATH = SEEDS / "mart_checks.csv"
MART_SCHEMA = "marts"
PERSON_TABLE = f"{MART_SCHEMA}.person"
THRESHOLDS_TABLE = "reference.thresholds"
SEVERITIES = ("block", "warn")

ROW_LEVEL_TYPES = (
    "unique_combination",
    "not_blank",
    "accepted_values",
    "value_between",
    "not_greater_than",
    "count_of_true_flags",
    "matches_person",
)
GROUP_LEVEL_TYPES = ("same_people_as_person", "group_share_of_population", "tier_shares")
CHECK_TYPES = ROW_LEVEL_TYPES + GROUP_LEVEL_TYPES


@dataclass(frozen=True)
class MartCheck:
    check_id: str
    table_name: str
    check_type: str
    columns: tuple[str, ...]
    parameters: tuple[str, ...]
    filter_column: str | None
    filter_value: str | None
    min_value: float | None
    max_value: float | None
    min_population: int | None
    severity: str
    description: str
    source: str

    @property
    def table(self) -> str:
        return f"{MART_SCHEMA}.{self.table_name}"

    @property
    def threshold(self) -> float | None:
        """The bound a result row reports: the upper bound where there is one, else the lower."""
        return self.max_value if self.max_value is not None else self.min_value


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split("|") if part.strip()) if text else ()


def _number(text: str) -> float | None:
    return float(text) if text.strip() else None


def load_registry(path: Path | None = None) -> list[MartCheck]:
    """Every gate-2 check, in seed order; raises on a row the compiler could not state."""
    with open(path or REGISTRY_PATH, newline="") as f:
        rows = list(csv.DictReader(f))
    checks = [
        MartCheck(
            check_id=r["check_id"],
            table_name=r["table_name"],
            check_type=r["check_type"],
            columns=_split(r["column_names"]),
            parameters=_split(r["parameters"]),
            filter_column=r["filter_column"] or None,
            filter_value=r["filter_value"] or None,
            min_value=_number(r["min_value"]),
            max_value=_number(r["max_value"]),
            min_population=int(r["min_population"]) if r["min_population"].strip() else None,
            severity=r["severity"],
            description=r["description"],
            source=r["source"],
        )
        for r in rows
    ]
    problems = [f"{c.check_id}: {p}" for c in checks for p in _problems(c)]
    ids = [c.check_id for c in checks]
    problems += [f"check_id {i} repeated" for i in sorted({i for i in ids if ids.count(i) > 1})]
    if problems:
        raise ValueError(f"{path or REGISTRY_PATH}: " + "; ".join(problems))
    return checks


def _problems(c: MartCheck) -> list[str]:
    out = []
    if c.check_type not in CHECK_TYPES:
        out.append(f"unknown check_type {c.check_type!r}")
    if c.severity not in SEVERITIES:
        out.append(f"severity {c.severity!r} not in {SEVERITIES}")
    if not c.columns:
        out.append("no column_names")
    if (
        c.check_type in ("accepted_values", "not_greater_than", "count_of_true_flags", "tier_shares")
        and not c.parameters
    ):
        out.append(f"{c.check_type} needs parameters")
    if c.check_type == "value_between" and c.min_value is None and c.max_value is None:
        out.append("value_between needs min_value or max_value")
    if c.check_type in ("group_share_of_population", "tier_shares") and c.max_value is None:
        out.append(f"{c.check_type} needs max_value")
    if bool(c.filter_column) != bool(c.filter_value):
        out.append("filter_column and filter_value go together")
    return out


def tables(checks: list[MartCheck]) -> list[str]:
    """The checked mart tables (names without schema), in registry order."""
    return list(dict.fromkeys(c.table_name for c in checks))


# --- SQL --------------------------------------------------------------------------------------------------


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _row_filter(c: MartCheck) -> str:
    return f"t.{c.filter_column} = {_literal(c.filter_value)} AND " if c.filter_column and c.filter_value else ""


def _row_level_count(c: MartCheck) -> str:
    """An aggregate over the table (alias t, person joined as p) counting the rows that break the check."""
    cols = [f"t.{col}" for col in c.columns]
    where = _row_filter(c)
    if c.check_type == "unique_combination":
        key = cols[0] if len(cols) == 1 else f"({', '.join(cols)})"
        return f"count(*) - count(DISTINCT {key})"
    if c.check_type == "not_blank":
        return (
            "count(*) FILTER (WHERE "
            + where
            + "("
            + " OR ".join(f"{col} IS NULL OR trim(CAST({col} AS VARCHAR)) = ''" for col in cols)
            + "))"
        )
    if c.check_type == "accepted_values":
        values = ", ".join(_literal(v) for v in c.parameters)
        return f"count(*) FILTER (WHERE {where}({cols[0]} IS NULL OR {cols[0]} NOT IN ({values})))"
    if c.check_type == "value_between":
        bounds = ([f"{cols[0]} < {c.min_value}"] if c.min_value is not None else []) + (
            [f"{cols[0]} > {c.max_value}"] if c.max_value is not None else []
        )
        return f"count(*) FILTER (WHERE {where}{cols[0]} IS NOT NULL AND ({' OR '.join(bounds)}))"
    if c.check_type == "not_greater_than":
        return f"count(*) FILTER (WHERE {where}{cols[0]} > t.{c.parameters[0]})"
    if c.check_type == "count_of_true_flags":
        flags = " + ".join(f"CAST(coalesce(t.{flag}, false) AS INTEGER)" for flag in c.parameters)
        return f"count(*) FILTER (WHERE {where}{cols[0]} IS DISTINCT FROM ({flags}))"
    if c.check_type == "matches_person":
        return (
            "count(*) FILTER (WHERE "
            + where
            + "(p.person_id IS NULL OR "
            + " OR ".join(f"t.{col} IS DISTINCT FROM p.{col}" for col in c.columns)
            + "))"
        )
    raise ValueError(f"{c.check_id}: {c.check_type} is not a row-level check")


def _group_level(c: MartCheck, batch: str) -> str:
    """A query returning one row (check_id, rows_failing, detail) for a check over groups of the table."""
    check_id = _literal(c.check_id)
    if c.check_type == "same_people_as_person":
        return f"""SELECT {check_id} AS check_id, count(*) AS rows_failing,
                   count(*) FILTER (WHERE t.person_id IS NULL) || ' in marts.person not in the table, '
                   || count(*) FILTER (WHERE p.person_id IS NULL) || ' in the table not in marts.person' AS detail
            FROM (SELECT DISTINCT person_id FROM {batch}) AS t
            FULL JOIN (SELECT person_id FROM {PERSON_TABLE}) AS p ON p.person_id = t.person_id
            WHERE t.person_id IS NULL OR p.person_id IS NULL"""
    min_population = c.min_population or 0
    if c.check_type == "group_share_of_population":
        group = c.columns[0]
        return f"""SELECT {check_id} AS check_id, count(*) AS rows_failing,
                   string_agg(grp || ' ' || round(share, 2) || '%', ', ' ORDER BY share DESC)
                   || ' of ' || max(population) || ' registered people (max {c.max_value:g}%)' AS detail
            FROM (SELECT CAST(t.{group} AS VARCHAR) AS grp, population,
                         100.0 * count(DISTINCT t.person_id) / population AS share
                  FROM (SELECT * FROM {batch}) AS t, (SELECT count(*) AS population FROM {PERSON_TABLE})
                  WHERE population >= {min_population}
                  GROUP BY grp, population)
            WHERE share > {c.max_value}"""
    if c.check_type == "tier_shares":
        tiers = [p.partition(":")[::2] for p in c.parameters]  # "Low" (no rule): the rest up to 100%
        spec = ", ".join(
            f"({_literal(tier)}, {i}, {_literal(rule) if rule else 'NULL'})" for i, (tier, rule) in enumerate(tiers)
        )
        tier_col = c.columns[0]
        return f"""WITH spec(tier, position, rule_id) AS (VALUES {spec}),
            cut AS (SELECT s.tier, s.position, s.rule_id,
                           CASE WHEN s.rule_id IS NULL THEN 100.0 ELSE th.value END AS cumulative_pct
                    FROM spec AS s LEFT JOIN {THRESHOLDS_TABLE} AS th ON th.rule_id = s.rule_id),
            expected AS (SELECT tier, position, rule_id, cumulative_pct,
                                cumulative_pct - coalesce(lag(cumulative_pct) OVER (ORDER BY position), 0) AS expected_pct
                         FROM cut),
            observed AS (SELECT CAST({tier_col} AS VARCHAR) AS tier, count(*) AS n FROM {batch} GROUP BY ALL),
            total AS (SELECT count(*) AS n FROM {batch}),
            compared AS (
                SELECT e.tier, e.position, e.rule_id, e.expected_pct,
                       100.0 * coalesce(o.n, 0) / total.n AS observed_pct
                FROM expected AS e CROSS JOIN total LEFT JOIN observed AS o ON o.tier = e.tier
                WHERE total.n >= {min_population})
            SELECT {check_id} AS check_id, count(*) AS rows_failing,
                   string_agg(CASE WHEN expected_pct IS NULL THEN tier || ': no threshold ' || rule_id
                                   || ' in {THRESHOLDS_TABLE}'
                                   ELSE tier || ' ' || round(observed_pct, 2) || '% (target '
                                   || round(expected_pct, 2) || '% +/- {c.max_value:g})' END,
                              ', ' ORDER BY position) AS detail
            FROM compared
            WHERE expected_pct IS NULL OR abs(observed_pct - expected_pct) > {c.max_value}"""
    raise ValueError(f"{c.check_id}: {c.check_type} is not a group-level check")


def table_query(table_name: str, checks: list[MartCheck], batch: str | None = None) -> str:
    """One query for every check of a table: rows (check_id, rows_failing, detail) for the failing checks only.

    `batch` is how the query names the table ({batch} under GX, the table itself when run directly). The
    row-level checks share one aggregate pass (joined to marts.person only when a check compares with it)."""
    batch = batch or f"{MART_SCHEMA}.{table_name}"
    own = [c for c in checks if c.table_name == table_name]
    row_level = [c for c in own if c.check_type in ROW_LEVEL_TYPES]
    parts = []
    ctes = []
    if row_level:
        join = (
            f" LEFT JOIN {PERSON_TABLE} AS p ON p.person_id = t.person_id"
            if any(c.check_type == "matches_person" for c in row_level)
            else ""
        )
        counts = ",\n                ".join(f'{_row_level_count(c)} AS "{c.check_id}"' for c in row_level)
        ctes.append(
            f"row_pass AS MATERIALIZED (\n            SELECT {counts}\n            FROM (SELECT * FROM {batch}) AS t{join})"
        )
        parts += [
            f'SELECT {_literal(c.check_id)} AS check_id, "{c.check_id}" AS rows_failing, '
            f"CAST(NULL AS VARCHAR) AS detail FROM row_pass"
            for c in row_level
        ]
    parts += [f"SELECT * FROM ({_group_level(c, batch)})" for c in own if c.check_type in GROUP_LEVEL_TYPES]
    if not parts:
        raise ValueError(f"no gate-2 checks for table {table_name}")
    with_clause = f"WITH {', '.join(ctes)}\n" if ctes else ""
    union = "\n        UNION ALL ".join(parts)
    return f"{with_clause}SELECT check_id, rows_failing, detail FROM (\n        {union}) WHERE rows_failing > 0"
