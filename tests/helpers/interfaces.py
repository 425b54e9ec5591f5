"""Shared by the interface tests (command line, web app, browser): the test user's password and a list read
straight from the mart to compare an interface's output with."""

from __future__ import annotations

from phm import lists
from phm.warehouse import open_reader

PASSWORD = "correct horse battery"


def expected_rows(warehouse, neighbourhood, list_name, filters, identifiable=False) -> list[dict]:
    """The list straight from the mart (in priority order), to compare an interface's output with."""
    with open_reader(warehouse, identity=identifiable) as con:
        columns, rows = lists.fetch_rows(con, neighbourhood, list_name, filters, identifiable=identifiable)
    return [dict(zip(columns, r, strict=False)) for r in rows]
