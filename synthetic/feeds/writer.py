"""Writing feeds exactly as the landing-zone contract says: columns, order, types; Parquet or CSV;
byte-for-byte deterministic (fixed row order, fixed writer settings, no timestamps in metadata);
each file written to a temporary name and renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from contracts.extracts import load_contract

from ..core.accepted import check_frame

POLARS_TYPES: dict[str, pl.DataType | type[pl.DataType]] = {
    "string": pl.String,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "int": pl.Int32,
    "double": pl.Float64,
    "bool": pl.Boolean,
}


def conform(feed: str, df: pl.DataFrame) -> pl.DataFrame:
    """Select the contract's columns in order with the contract's types (missing or extra columns are a bug) and
    check the coded columns against seeds/code_values.csv (a code it does not accept is a bug)."""
    spec = load_contract()[feed]
    names = spec.column_names
    missing = [n for n in names if n not in df.columns]
    extra = [n for n in df.columns if n not in names]
    if missing or extra:
        raise ValueError(f"{feed}: generator columns differ from the contract (missing {missing}, extra {extra})")
    df = df.select([pl.col(c.name).cast(POLARS_TYPES[c.type], strict=True) for c in spec.columns])
    check_frame(feed, df)  # coded columns hold only codes seeds/code_values.csv accepts
    return df


def write_feed(df: pl.DataFrame, path: Path, file_format: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    if file_format == "parquet":
        df.write_parquet(tmp, compression="zstd", compression_level=3, statistics=True, row_group_size=1 << 20)
    elif file_format == "csv":
        df.write_csv(
            tmp,
            include_header=True,
            date_format="%Y-%m-%d",
            datetime_format="%Y-%m-%d %H:%M:%S",
            null_value="",
            line_terminator="\n",
        )
    else:
        raise ValueError(f"unknown file_format {file_format!r} (parquet or csv)")
    os.replace(tmp, path)
