"""Ingest: load one feed of a landing drop into the build DuckDB file, exactly as the contract says.

`landing.<feed>` holds every row received, typed, with its position in the file (`_row_number`). A feed that
cannot be read, or whose shape breaks the contract, raises FeedError naming the feed, the rule and the column:
such a feed never reaches the quality gate and blocks the refresh.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from assets.sql_text import sql_string
from contracts.extracts import Column, Feed, file_sha256

# Parquet physical types accepted for each contract type, by name without precision (a narrower integer or float, or
# a decimal for a double, is not a mistype).
ACCEPTED_PARQUET_TYPES = {
    "VARCHAR": {"VARCHAR"},
    "DATE": {"DATE"},
    "TIMESTAMP": {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"},
    "INTEGER": {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"},
    "DOUBLE": {"FLOAT", "DOUBLE", "DECIMAL", "TINYINT", "SMALLINT", "INTEGER", "BIGINT"},
    "BOOLEAN": {"BOOLEAN"},
}


# How a CSV value of each contract type must be written, beyond the engines' casts (DuckDB's accepts 28.6 or 0x1F as an
# integer and reads a timestamp with Z or an offset as local time; Spark's accepts 1.5d as a decimal, 2026-11 as a
# timestamp and a date with a time after it): (SQL that is true for a bad value, what a good one is). {v} is the
# column. The patterns say the written form; the cast then rules out what the pattern lets through (2026-02-30).
# The Spark engine runs the same SQL (assets/spark_ingest.py); tests/e2e/test_spark_ingest.py holds both to the same
# verdict and value.
CSV_TEXT_RULES = {
    "INTEGER": ("NOT regexp_full_match(trim({v}), '[+-]?[0-9]+') OR TRY_CAST({v} AS INTEGER) IS NULL", "whole numbers"),
    "BIGINT": ("NOT regexp_full_match(trim({v}), '[+-]?[0-9]+') OR TRY_CAST({v} AS BIGINT) IS NULL", "whole numbers"),
    "DOUBLE": (
        "NOT regexp_full_match(lower(trim({v})), "
        "'[+-]?(([0-9]+([.][0-9]*)?|[.][0-9]+)(e[+-]?[0-9]+)?|nan|inf|infinity)') OR TRY_CAST({v} AS DOUBLE) IS NULL",
        "decimal numbers",
    ),
    "DATE": (
        "NOT regexp_full_match(trim({v}), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') OR TRY_CAST({v} AS DATE) IS NULL",
        "ISO dates (YYYY-MM-DD)",
    ),
    "TIMESTAMP": (
        "NOT regexp_full_match(trim({v}), "
        "'[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}([ T][0-9]{{2}}:[0-9]{{2}}(:[0-9]{{2}}([.][0-9]+)?)?)?') "
        "OR TRY_CAST({v} AS TIMESTAMP) IS NULL",
        "Europe/London local timestamps without a zone or offset (the contract's timestamps are local time)",
    ),
    # unpadded: Spark's cast reads " true " and DuckDB's does not
    "BOOLEAN": ("lower({v}) NOT IN ('true', 'false')", "true or false"),
}


def csv_invalid(column: str, sql_type: str) -> str:
    """The SQL that is true for a CSV value of this column not written as its type must be (CSV_TEXT_RULES)."""
    return CSV_TEXT_RULES[sql_type][0].format(v=column)


class FeedError(Exception):
    """A feed-level failure: the feed cannot be accepted at all."""

    def __init__(self, feed: str, rule_id: str, message: str, column: str | None = None):
        self.feed, self.rule_id, self.column, self.detail = feed, rule_id, column, message
        where = f" column {column!r}:" if column else ""
        super().__init__(f"feed {feed}: rule {rule_id}:{where} {message}")


@dataclass(frozen=True)
class Drop:
    """One landing drop: <landing>/<extract_date>/ with its manifest."""

    path: Path
    extract_date: date
    manifest: dict

    @classmethod
    def open(cls, landing_dir: Path, extract_date: date | None = None) -> Drop:
        landing_dir = Path(landing_dir)
        if extract_date is None:
            dated = sorted(p for p in landing_dir.glob("????-??-??") if p.is_dir())
            if not dated:
                raise FeedError("manifest", "missing_feed", f"no extract drop (YYYY-MM-DD folder) in {landing_dir}")
            extract_date = date.fromisoformat(dated[-1].name)
        path = landing_dir / extract_date.isoformat()
        manifest_path = path / "manifest.json"
        if not manifest_path.exists():
            raise FeedError("manifest", "manifest_mismatch", f"{manifest_path} is missing")
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError) as e:
            raise FeedError("manifest", "unreadable", f"{manifest_path}: {e}") from e
        stated = manifest.get("extract_date")
        if stated != extract_date.isoformat():
            raise FeedError(
                "manifest",
                "manifest_mismatch",
                f"{manifest_path} says extract_date {stated!r} but the drop folder is {extract_date}",
            )
        drop = cls(path, extract_date, manifest)
        drop.refuse_unlisted_files()
        return drop

    def refuse_unlisted_files(self) -> None:
        """Every file of the drop is one the manifest vouches for: a stray file is a sign of a mixed or tampered
        drop. (Hidden files, e.g. a transfer tool's partial files, are not part of the drop.)"""
        listed = {"manifest.json"}
        for feed, entry in (self.manifest.get("feeds") or {}).items():
            listed |= (
                {entry["file"]} if isinstance(entry, dict) and entry.get("file") else {f"{feed}.parquet", f"{feed}.csv"}
            )
        unlisted = sorted(p.name for p in self.path.iterdir() if not p.name.startswith(".") and p.name not in listed)
        if unlisted:
            raise FeedError(
                "manifest",
                "manifest_mismatch",
                f"{self.path} holds file(s) its manifest does not list: {', '.join(unlisted)}",
            )

    def feed_file(self, feed: str) -> Path:
        found = [self.path / f"{feed}{suffix}" for suffix in (".parquet", ".csv")]
        found = [p for p in found if p.exists() or p.is_symlink()]
        if not found:
            raise FeedError(feed, "missing_feed", f"no {feed}.parquet or {feed}.csv in {self.path}")
        if len(found) > 1:
            raise FeedError(
                feed, "manifest_mismatch", f"both {found[0].name} and {found[1].name} are in {self.path}: which one?"
            )
        path = found[0]
        if not path.resolve().is_relative_to(self.path.resolve()):
            raise FeedError(feed, "unreadable", f"{path.name} is a link to a file outside the drop folder")
        return path


def complete_drop_dates(landing_dir: Path) -> list[date]:
    """Extract dates of the drops whose manifest.json has landed (written last, so the drop is complete), oldest
    first."""
    dates = []
    for folder in Path(landing_dir).glob("????-??-??"):
        try:
            extract_date = date.fromisoformat(folder.name)
        except ValueError:
            continue
        if (folder / "manifest.json").is_file():
            dates.append(extract_date)
    return sorted(dates)


def check_against_manifest(drop: Drop, feed: str, path: Path) -> dict:
    entry = drop.manifest.get("feeds", {}).get(feed)
    if entry is None:
        raise FeedError(feed, "manifest_mismatch", f"{drop.path / 'manifest.json'} does not list the feed")
    if entry.get("file") and entry["file"] != path.name:
        raise FeedError(feed, "manifest_mismatch", f"manifest names {entry['file']} but the drop holds {path.name}")
    # The manifest is the sender's word for what was sent: both checks are required, never optional.
    if not entry.get("sha256"):
        raise FeedError(
            feed,
            "manifest_mismatch",
            f"{drop.path / 'manifest.json'} gives no sha256 for the feed "
            "(required: it is how a truncated or altered file is caught)",
        )
    if file_sha256(path) != entry["sha256"]:
        raise FeedError(
            feed,
            "manifest_mismatch",
            f"{path.name} does not match the sha256 in the manifest (truncated or altered in transit)",
        )
    return entry


def _describe(con: duckdb.DuckDBPyConnection, relation_sql: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {relation_sql}").fetchall()]


def check_column_types(feed: Feed, types: dict[str, str], accepted: dict[str, set[str]]) -> None:
    """Each column's type as the reader gives it (name -> type, precision in brackets ignored) is one `accepted`
    allows for the contract's type."""
    for c in feed.columns:
        if types[c.name].split("(")[0] not in accepted[c.sql_type]:
            raise FeedError(feed.name, "schema", f"has type {types[c.name]} but the contract says {c.type}", c.name)


def read_csv_header(feed: Feed, path: Path) -> list[str]:
    """A CSV file's column names, held to the contract before any reader parses the file (so a wrong delimiter reads
    as missing columns)."""
    try:
        # utf-8-sig: a byte-order mark (Excel's CSV export writes one) is not part of the first column's name.
        with open(path, newline="", encoding="utf-8-sig") as f:
            header = [h.strip() for h in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError) as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} is not a readable UTF-8 CSV file: {e}") from e
    check_columns(feed, header)
    return header


def check_columns(feed: Feed, found: list[str]) -> None:
    expected = feed.column_names
    missing = [c for c in expected if c not in found]
    extra = [c for c in found if c not in expected]
    if missing:
        raise FeedError(feed.name, "schema", f"missing from the file (found columns: {', '.join(found)})", missing[0])
    if extra:
        raise FeedError(feed.name, "schema", "is not in the contract (extra column)", extra[0])


def _load_parquet(con: duckdb.DuckDBPyConnection, feed: Feed, path: Path) -> None:
    # file_row_number: the row's position in the file from the reader itself, which keeps the scan parallel and
    # in file order (row_number() OVER () made every load one ordered stream).
    source = f"read_parquet({sql_string(path)}, file_row_number = true)"
    try:
        described = _describe(con, f"SELECT * FROM {source}")
    except duckdb.Error as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} is not a readable Parquet file: {e}") from e
    check_columns(feed, [c for c, _ in described if c != "file_row_number"])
    check_column_types(feed, dict(described), ACCEPTED_PARQUET_TYPES)
    select = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in feed.columns)
    try:
        con.execute(
            f"CREATE OR REPLACE TABLE landing.{feed.name} AS "
            f"SELECT {select}, CAST(file_row_number + 1 AS BIGINT) AS _row_number FROM {source}"
        )
    except duckdb.Error as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} could not be read completely: {e}") from e


def csv_typed_columns(feed: Feed) -> list[Column]:
    return [c for c in feed.columns if c.sql_type in CSV_TEXT_RULES]


def csv_checks_sql(typed: list[Column]) -> str:
    """Per typed column: how many of its values are badly written, and the first of them (DuckDB SQL)."""
    return ", ".join(
        f"{aggregate} FILTER (WHERE {c.name} IS NOT NULL AND ({csv_invalid(c.name, c.sql_type)}))"
        for c in typed
        for aggregate in ("count(*)", f"min({c.name})")
    )


def refuse_badly_written_values(feed: Feed, typed: list[Column], found: Sequence[Any]) -> None:
    """FeedError naming the first column with badly written values (found: csv_checks_sql's row)."""
    for i, c in enumerate(typed):
        count, example = found[2 * i], found[2 * i + 1]
        if count:
            raise FeedError(
                feed.name,
                "schema",
                f"{count} values are not {CSV_TEXT_RULES[c.sql_type][1]} (e.g. {example!r})",
                c.name,
            )


def _load_csv(con: duckdb.DuckDBPyConnection, feed: Feed, path: Path) -> None:
    header = read_csv_header(feed, path)
    columns = "{" + ", ".join(f"{sql_string(h)}: 'VARCHAR'" for h in header) + "}"
    source = (
        f"read_csv({sql_string(path)}, header = true, delim = ',', quote = '\"', escape = '\"', "
        f"auto_detect = false, columns = {columns})"
    )
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _csv AS SELECT * FROM {source}")
    except duckdb.Error as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} could not be parsed as CSV: {e}") from e
    typed = csv_typed_columns(feed)
    if typed:  # one scan for every typed column
        refuse_badly_written_values(feed, typed, con.execute(f"SELECT {csv_checks_sql(typed)} FROM _csv").fetchall()[0])
    select = ", ".join(f"CAST({c.name} AS {c.sql_type}) AS {c.name}" for c in feed.columns)
    con.execute(
        f"CREATE OR REPLACE TABLE landing.{feed.name} AS "
        f"SELECT {select}, CAST(row_number() OVER () AS BIGINT) AS _row_number FROM _csv"
    )
    con.execute("DROP TABLE _csv")


def load_feed(con: duckdb.DuckDBPyConnection, drop: Drop, feed: Feed) -> int:
    """Load one feed into landing.<feed>; returns the number of rows received."""
    path = drop.feed_file(feed.name)
    entry = check_against_manifest(drop, feed.name, path)
    con.execute("CREATE SCHEMA IF NOT EXISTS landing")
    if path.suffix == ".parquet":
        _load_parquet(con, feed, path)
    else:
        _load_csv(con, feed, path)
    rows = con.execute(f"SELECT count(*) FROM landing.{feed.name}").fetchall()[0][0]
    if entry.get("rows") is None:
        raise FeedError(
            feed.name, "manifest_mismatch", f"{drop.path / 'manifest.json'} gives no row count for the feed (required)"
        )
    if int(entry["rows"]) != rows:
        raise FeedError(feed.name, "manifest_mismatch", f"{rows} rows read but the manifest says {entry['rows']}")
    return rows
