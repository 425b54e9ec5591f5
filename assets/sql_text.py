"""SQL text built from values that cannot be query parameters (ATTACH, COPY ... TO take no parameters)."""

from __future__ import annotations

from pathlib import Path


def sql_string(value: str | Path) -> str:
    """A SQL string literal: the value in single quotes, quotes inside it doubled."""
    return "'" + str(value).replace("'", "''") + "'"
