"""Reference data the generator draws on: the practice map, IMD 2019 by LSOA and the codelists."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import polars as pl

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
CODELISTS = SEEDS / "codelists"

DISTRICTS = ("Cambridge", "East Cambridgeshire", "Fenland", "Huntingdonshire", "Peterborough", "South Cambridgeshire")
PETERBOROUGH_LA, CAMBRIDGESHIRE_LA = "E06000031", "E10000003"


@dataclass(frozen=True)
class Geography:
    practice_codes: np.ndarray  # str
    practice_district: np.ndarray  # int8 index into DISTRICTS
    lsoa_codes: np.ndarray  # str
    lsoa_district: np.ndarray  # int8
    lsoa_imd_decile: np.ndarray  # int8
    lsoa_population: np.ndarray  # float64
    lsoa_age_shares: np.ndarray  # (LSOAs, 3) float64: shares aged 0-15, 16-59, 60+
    practice_pcn: np.ndarray  # int index of the practice's PCN
    district_la: tuple[str, ...]


@lru_cache(maxsize=1)
def geography() -> Geography:
    practices = pl.read_csv(SEEDS / "practice_map.csv", infer_schema_length=0).sort("practice_code")
    lsoas = pl.read_csv(SEEDS / "imd2019_lsoa.csv", infer_schema_length=0).sort("lsoa_code")
    dindex = {d: i for i, d in enumerate(DISTRICTS)}
    la = {r["district"]: r["la_code"] for r in practices.select("district", "la_code").unique().iter_rows(named=True)}
    return Geography(
        practice_codes=practices["practice_code"].to_numpy().astype(str),
        practice_district=np.array([dindex[d] for d in practices["district"]], dtype=np.int8),
        lsoa_codes=lsoas["lsoa_code"].to_numpy().astype(str),
        lsoa_district=np.array([dindex[d] for d in lsoas["lad_name"]], dtype=np.int8),
        lsoa_imd_decile=lsoas["imd_decile"].cast(pl.Int8).to_numpy(),
        lsoa_population=lsoas["population"].cast(pl.Float64).to_numpy(),
        lsoa_age_shares=_age_shares(lsoas),
        practice_pcn=np.unique(practices["pcn_code"].to_numpy().astype(str), return_inverse=True)[1],
        district_la=tuple(la.get(d, PETERBOROUGH_LA if d == "Peterborough" else CAMBRIDGESHIRE_LA) for d in DISTRICTS),
    )


def _age_shares(lsoas: pl.DataFrame) -> np.ndarray:
    groups = lsoas.select(
        pl.col(c).cast(pl.Float64) for c in ("population_0_15", "population_16_59", "population_60_plus")
    ).to_numpy()
    return groups / groups.sum(axis=1, keepdims=True)


@lru_cache(maxsize=1)
def concept_codes() -> dict[tuple[str, str], frozenset[str]]:
    """(concept, role) -> set of codes, from seeds/codelists/codelist_concepts.csv."""
    index = pl.read_csv(CODELISTS / "codelist_concepts.csv", infer_schema_length=0)
    out: dict[tuple[str, str], set[str]] = {}
    for row in index.iter_rows(named=True):
        path = CODELISTS / f"{row['file']}.csv"
        if not path.exists():
            continue
        codes = pl.read_csv(path, infer_schema_length=0)[row["code_column"]].drop_nulls().to_list()
        out.setdefault((row["concept"], row["role"]), set()).update(c.strip() for c in codes)
    return {k: frozenset(v) for k, v in out.items()}


def codes_of(concept: str, role: str) -> frozenset[str]:
    return concept_codes().get((concept, role), frozenset())


def concepts_of_code(code: str) -> set[tuple[str, str]]:
    return {k for k, v in concept_codes().items() if code in v}
