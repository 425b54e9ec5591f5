"""The person key: a keyed pseudonym (HMAC-SHA256) of every valid NHS number seen in any accepted feed.

The NHS number stays in the build file's raw layer; staging replaces it with person_id by joining
raw.person_key, so the SQL needs no cryptography and stays portable.
"""
from __future__ import annotations

import hashlib
import hmac
import os

import duckdb
import pyarrow as pa

from assets.contract import load_contract

DEVELOPMENT_KEY = "phm-development-key-not-for-real-data"


class MissingPseudonymKey(RuntimeError):
    pass


def pseudonym_key() -> bytes:
    """PHM_PSEUDONYM_KEY from the environment; in production (PHM_ENV=production) it must be set."""
    key = os.environ.get("PHM_PSEUDONYM_KEY")
    if key:
        return key.encode()
    if os.environ.get("PHM_ENV", "development") == "production":
        raise MissingPseudonymKey("PHM_PSEUDONYM_KEY is not set: production refreshes need the ICB's pseudonymisation "
                                  "key (development runs use a documented default)")
    return DEVELOPMENT_KEY.encode()


def person_id(nhs_number: str, key: bytes) -> str:
    return hmac.new(key, nhs_number.encode(), hashlib.sha256).hexdigest()


def build_person_key(con: duckdb.DuckDBPyConnection, key: bytes) -> int:
    feeds = [f for f in load_contract().values() if "nhs_number" in f.column_names]
    union = " UNION ".join(f"SELECT nhs_number FROM raw.{f.name} WHERE nhs_number IS NOT NULL" for f in feeds)
    numbers = con.execute(f"SELECT nhs_number FROM ({union}) ORDER BY nhs_number").fetchall()
    numbers = [n for (n,) in numbers]
    table = pa.table({"nhs_number": numbers, "person_id": [person_id(n, key) for n in numbers]})
    con.register("_person_key", table)
    con.execute("CREATE OR REPLACE TABLE raw.person_key AS SELECT * FROM _person_key")
    con.unregister("_person_key")
    return len(numbers)
