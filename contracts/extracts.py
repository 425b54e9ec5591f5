"""The landing-zone contract (contracts/extracts.yaml, a verbatim copy of shared/contracts/extracts.yaml).

One loader for everything that needs a feed's shape: the generator writes it, ingest checks it, the gates
derive their rules from it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

CONTRACT_PATH = Path(__file__).resolve().parent / "extracts.yaml"

# contract type -> DuckDB SQL type
SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "int": "INTEGER",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool
    codes: str | None = None

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.type]


@dataclass(frozen=True)
class Feed:
    name: str
    setting: str
    key: tuple[str, ...] | None
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


@cache
def load_contract(path: Path = CONTRACT_PATH) -> dict[str, Feed]:
    doc = yaml.safe_load(Path(path).read_text())
    feeds = {}
    for name, spec in doc["feeds"].items():
        cols = tuple(
            Column(cname, c["type"], bool(c["nullable"]), c.get("codes")) for cname, c in spec["columns"].items()
        )
        for c in cols:
            if c.type not in SQL_TYPES:
                raise ValueError(f"{path}: feed {name} column {c.name}: unknown type {c.type!r}")
        key = tuple(spec["key"]) if spec.get("key") else None
        feeds[name] = Feed(name, spec.get("setting", ""), key, cols)
    return feeds


FEEDS = tuple(load_contract())


def file_sha256(path: Path) -> str:
    """The checksum a drop's manifest.json gives for each feed file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
