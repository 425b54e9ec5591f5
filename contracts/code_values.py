"""The accepted code values of the contract's coded columns (seeds/code_values.csv), read in one place.

The contract (contracts/extracts.yaml) states each column's codes in prose; the seed lists them one row per
(feed, column_name, code) with the meaning and the source (NHS Data Dictionary attribute or the contract).
Everything else derives from the seed: the gate-1 invalid_code rules (expectations/rules.py), the dbt
accepted_code_values tests on the staging models (dbt reads the same file as the seed `code_values`) and the
generator's code choices (synthetic/core/code_values.py). tests/unit/test_code_values.py checks that every
code of the seed is named by the contract's prose for its column.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from contracts.extracts import load_contract

CODE_VALUES_PATH = Path(__file__).resolve().parent.parent / "seeds" / "code_values.csv"
COLUMNS = ("feed", "column_name", "code", "meaning", "source")


@cache
def load_code_values(path: Path = CODE_VALUES_PATH) -> dict[tuple[str, str], tuple[str, ...]]:
    """(feed, column) -> its accepted codes, in the seed's order. Every row must name a column of the contract,
    carry a meaning and a source, and appear once."""
    contract = load_contract()
    out: dict[tuple[str, str], list[str]] = {}
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path.name}: columns must be {', '.join(COLUMNS)}, found {reader.fieldnames}")
        for line, row in enumerate(reader, start=2):
            feed, column, code = row["feed"], row["column_name"], row["code"]
            if feed not in contract or column not in contract[feed].column_names:
                raise ValueError(f"{path.name} line {line}: {feed}.{column} is not a column of the contract")
            if not code or not row["meaning"] or not row["source"]:
                raise ValueError(f"{path.name} line {line}: code, meaning and source are required")
            codes = out.setdefault((feed, column), [])
            if code in codes:
                raise ValueError(f"{path.name} line {line}: {feed}.{column} lists code {code!r} twice")
            codes.append(code)
    return {k: tuple(v) for k, v in out.items()}


def accepted_codes(feed: str, column: str, path: Path = CODE_VALUES_PATH) -> tuple[str, ...]:
    """The accepted codes of one coded column (KeyError if the seed has none for it)."""
    table = load_code_values(path)
    if (feed, column) not in table:
        raise KeyError(f"{path.name} has no codes for {feed}.{column}")
    return table[(feed, column)]
