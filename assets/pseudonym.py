"""The person key: a keyed pseudonym (HMAC-SHA256) of every valid NHS number seen in any accepted feed.

The NHS number stays in the build file's raw layer; staging replaces it with person_id by joining
raw.person_key, so the SQL needs no cryptography and stays portable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from contracts.extracts import load_contract

DEVELOPMENT_KEY = "phm-development-key-not-for-real-data"
ENVIRONMENTS = ("production", "development", "test")
# An HMAC over 10-digit numbers is only as strong as its key: a short key can be found by enumeration.
MINIMUM_PRODUCTION_KEY_LENGTH = 32


class MissingPseudonymKey(RuntimeError):
    pass


@dataclass(frozen=True)
class PseudonymKey:
    key: bytes
    description: str  # what the refresh records: never the key itself

    @property
    def is_development_default(self) -> bool:
        return self.key == DEVELOPMENT_KEY.encode()


def pseudonym_key() -> PseudonymKey:
    """PHM_PSEUDONYM_KEY from the environment. Fails closed: PHM_ENV must name a known environment (any case), and
    in production the key must be set and long; only development and test fall back to the public default key."""
    raw_environment = os.environ.get("PHM_ENV", "development")
    environment = raw_environment.strip().lower()
    if environment not in ENVIRONMENTS:
        raise MissingPseudonymKey(
            f"PHM_ENV={raw_environment!r} is not one of {', '.join(ENVIRONMENTS)}: refusing to "
            "guess which pseudonymisation key applies"
        )
    key = os.environ.get("PHM_PSEUDONYM_KEY", "")
    if key:
        if environment == "production" and len(key) < MINIMUM_PRODUCTION_KEY_LENGTH:
            raise MissingPseudonymKey(
                f"PHM_PSEUDONYM_KEY is shorter than {MINIMUM_PRODUCTION_KEY_LENGTH} characters: "
                "too weak for production (pseudonyms of 10-digit numbers could be enumerated)"
            )
        if key == DEVELOPMENT_KEY and environment == "production":
            raise MissingPseudonymKey("PHM_PSEUDONYM_KEY is the public development key: not for production")
        label = hmac.new(key.encode(), b"phm key fingerprint", hashlib.sha256).hexdigest()[:12]
        return PseudonymKey(key.encode(), f"configured key (fingerprint {label}), {environment}")
    if environment == "production":
        raise MissingPseudonymKey(
            "PHM_PSEUDONYM_KEY is not set: production refreshes need the ICB's pseudonymisation "
            "key (development runs use a documented default)"
        )
    return PseudonymKey(
        DEVELOPMENT_KEY.encode(), f"PUBLIC development default key ({environment}): never for real data"
    )


def person_id(nhs_number: str, key: bytes) -> str:
    return hmac.new(key, nhs_number.encode(), hashlib.sha256).hexdigest()


SHA256_BLOCK_BYTES = 64


def hmac_sha256_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys (RFC 2104), so an engine with SHA-256 but no HMAC (Spark SQL's
    sha2) computes the same person_id as `person_id`: sha256(outer || sha256(inner || message))."""
    block = hashlib.sha256(key).digest() if len(key) > SHA256_BLOCK_BYTES else key
    block = block.ljust(SHA256_BLOCK_BYTES, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def build_person_key(con: duckdb.DuckDBPyConnection, key: bytes, known: str | None = None) -> int:
    """raw.person_key: every valid NHS number of the accepted feeds with its pseudonym, in NHS number order; returns
    the number of people. `known`: a table of (nhs_number, person_id) made with this same key (an incremental
    refresh's kept person key, assets/incremental.py): only the numbers not in it are hashed."""
    feeds = [f for f in load_contract().values() if "nhs_number" in f.column_names]
    union = " UNION ".join(f"SELECT nhs_number FROM raw.{f.name} WHERE nhs_number IS NOT NULL" for f in feeds)
    if known is None:
        to_hash = f"SELECT nhs_number FROM ({union}) ORDER BY nhs_number"
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _numbers AS {union}")
        to_hash = f"SELECT nhs_number FROM _numbers ANTI JOIN {known} USING (nhs_number) ORDER BY nhs_number"
    numbers: list[str] = [n for (n,) in con.execute(to_hash).fetchall()]
    table = pa.table({"nhs_number": numbers, "person_id": [person_id(n, key) for n in numbers]})
    con.register("_person_key", table)
    if known is None:
        con.execute("CREATE OR REPLACE TABLE raw.person_key AS SELECT * FROM _person_key")
    else:
        con.execute(
            "CREATE OR REPLACE TABLE raw.person_key AS SELECT * FROM ("
            f"SELECT nhs_number, person_id FROM {known} SEMI JOIN _numbers USING (nhs_number) "
            "UNION ALL SELECT nhs_number, person_id FROM _person_key) ORDER BY nhs_number"
        )
        con.execute("DROP TABLE _numbers")
    con.unregister("_person_key")
    return con.execute("SELECT count(*) FROM raw.person_key").fetchall()[0][0]
