"""Deliberate data-quality defects, so the quality gate has something to find.

For each (feed, rule) the generator damages round(defect_rate x rows) rows (at least one when the rate
is positive), each breaking exactly one rule, and the manifest lists the exact counts. Rows are chosen
from clean, linkable rows, never twice in a feed. Only this module may depend on the extract date.
"""

from __future__ import annotations

import csv
from functools import lru_cache

import numpy as np
import polars as pl

from ..core import codes
from ..core.nhs_number import invalidate
from ..core.randomness import name_id, stream_rng
from ..core.reference import SEEDS

UNKNOWN_PRACTICES = ("Z99999", "Z99998", "Z99997", "Y99990")

# feed -> [(rule_id, column, description)]
DEFECT_PLAN = {
    "gp_patients": [
        ("nhs_number_invalid", "nhs_number", "NHS number with a wrong check digit"),
        ("unknown_practice", "practice_code", "practice code not in the practice map"),
        ("duplicate_key", "nhs_number,practice_code,registration_start_date", "exact copy of a registration row"),
    ],
    "gp_events": [
        ("nhs_number_invalid", "nhs_number", "NHS number with a wrong check digit"),
        ("unknown_practice", "practice_code", "practice code not in the practice map"),
        ("implausible_value", "value", "implausible BP / HbA1c / cholesterol / BMI / QRISK values"),
        ("future_date", "event_date", "event dated after the extract date"),
    ],
    "gp_medications": [
        ("unknown_practice", "practice_code", "practice code not in the practice map"),
        ("future_date", "issue_date", "issue dated after the extract date"),
    ],
    "sus_apc_spells": [
        ("nhs_number_invalid", "nhs_number", "NHS number with a wrong check digit"),
        ("duplicate_key", "spell_id", "exact copy of a spell row"),
    ],
    "ecds_attendances": [
        ("nhs_number_invalid", "nhs_number", "NHS number with a wrong check digit"),
        ("future_date", "arrival_datetime", "arrival after the extract date"),
        ("duplicate_key", "attendance_id", "exact copy of an attendance row"),
    ],
}

PLAUSIBLE_RANGES = SEEDS / "plausible_ranges.csv"


@lru_cache(maxsize=1)
def implausible_values() -> dict[str, tuple[tuple[float, float], tuple[float, float]]]:
    """concept -> ((min, max) plausible range, inclusive, from seeds/plausible_ranges.csv, the one the gate and
    the marts read), (high, low) implausible value written instead): half the range's width above the maximum,
    and a third of the minimum (twice the width above the maximum when the minimum is 0). Only the concepts the
    generator records a value for (codes.OBSERVATION)."""
    out = {}
    with open(PLAUSIBLE_RANGES, newline="") as f:
        for r in csv.DictReader(f):
            lo, hi = float(r["min_value"]), float(r["max_value"])
            if r["concept"] not in codes.OBSERVATION:
                continue
            high = round(hi + (hi - lo) / 2, 1)
            low = round(lo / 3, 1) if lo > 0 else round(hi + 2 * (hi - lo), 1)
            if lo <= high <= hi or lo <= low <= hi:
                raise ValueError(f"plausible_ranges.csv {r['concept']}: no implausible value outside {lo}-{hi}")
            out[r["concept"]] = ((lo, hi), (high, low))
    return out


def defect_count(rate: float, rows: int) -> int:
    if rate <= 0 or rows == 0:
        return 0
    return min(rows, max(1, round(rate * rows)))


def _choose(rng: np.random.Generator, eligible: np.ndarray, used: np.ndarray, n: int) -> np.ndarray:
    """n distinct rows, eligible (boolean mask) and not yet damaged, drawn uniformly. Rejection sampling on
    row numbers: cheap when eligible rows are plentiful; falls back to the explicit pool when they are not."""
    rows = eligible.size
    picked: list[int] = []
    seen: set[int] = set()
    for _ in range(20):
        cand = rng.integers(0, rows, size=4 * n + 64)
        for i in cand[eligible[cand] & ~used[cand]].tolist():
            if i not in seen:
                seen.add(i)
                picked.append(i)
                if len(picked) == n:
                    break
        if len(picked) == n:
            break
    if len(picked) < n:
        pool = np.flatnonzero(eligible & ~used)
        if n > pool.size:
            raise ValueError(f"cannot damage {n} rows: only {pool.size} eligible")
        picked = pool[rng.choice(pool.size, size=n, replace=False)].tolist()
    pick = np.sort(np.array(picked, dtype=np.int64))
    used[pick] = True
    return pick


def inject(feed: str, df: pl.DataFrame, rate: float, seed: int, extract_day: int) -> tuple[pl.DataFrame, list[dict]]:
    plan = DEFECT_PLAN.get(feed, [])
    if rate <= 0 or not plan or df.height == 0:
        return df, []
    rows = df.height
    used = np.zeros(rows, dtype=bool)
    linkable = ~df["nhs_number"].is_null().to_numpy()
    everything = linkable
    out: list[dict] = []
    duplicates = None
    for rule, column, kind in plan:
        rng = stream_rng(seed, "defects", extract_day, name_id(feed), name_id(rule))
        n = defect_count(rate, rows)
        if rule == "nhs_number_invalid":
            idx = _choose(rng, everything, used, n)
            numbers = df["nhs_number"].gather(idx).cast(pl.Int64).to_numpy()
            bad = invalidate(numbers, rng.integers(1, 10, idx.size))
            df = df.with_columns(df["nhs_number"].scatter(idx, pl.Series(bad).cast(pl.String)))
        elif rule == "unknown_practice":
            idx = _choose(rng, everything, used, n)
            vals = np.array(UNKNOWN_PRACTICES)[rng.integers(0, len(UNKNOWN_PRACTICES), idx.size)]
            df = df.with_columns(df["practice_code"].scatter(idx, pl.Series(vals)))
        elif rule == "implausible_value":
            implausible = implausible_values()
            concept_of = {}
            for concept in implausible:
                concept_of[codes.OBSERVATION[concept][0]] = concept
            code_col = df["snomed_code"]
            eligible = code_col.is_in(list(concept_of)).to_numpy() & linkable & ~df["value"].is_null().to_numpy()
            idx = _choose(rng, eligible, used, n)
            chosen_codes = code_col.gather(idx).to_list()
            which = rng.integers(0, 2, idx.size)
            vals = np.array([implausible[concept_of[c]][1][w] for c, w in zip(chosen_codes, which, strict=False)])
            df = df.with_columns(df["value"].scatter(idx, pl.Series(vals)))
        elif rule == "future_date":
            idx = _choose(rng, everything, used, n)
            shift = rng.integers(1, 400, idx.size)
            future = extract_day + shift
            if feed == "ecds_attendances":
                # the arrival moves past the extract date; departure becomes unknown (still in the department),
                # so only the arrival breaks a rule
                arr = df["arrival_datetime"].gather(idx)
                minutes_of_day = (arr.dt.hour().cast(pl.Int64) * 60 + arr.dt.minute().cast(pl.Int64)).to_numpy()
                new_arr_us = (future * 1440 + minutes_of_day) * 60_000_000
                df = df.with_columns(
                    df["arrival_datetime"].scatter(idx, pl.Series(new_arr_us).cast(pl.Datetime("us"))),
                    df["departure_datetime"].scatter(idx, pl.Series([None] * idx.size, dtype=pl.Datetime("us"))),
                )
            else:
                date_col = column
                df = df.with_columns(df[date_col].scatter(idx, pl.Series(future.astype(np.int32)).cast(pl.Date)))
        elif rule == "duplicate_key":
            duplicates = _choose(rng, everything, used, n)
        out.append({"feed": feed, "rule_id": rule, "column": column, "rows": int(n), "kind": kind})
    if duplicates is not None:
        # the extra copies arrive at the end of the file, as a re-sent batch would
        df = pl.concat([df, df[duplicates]], rechunk=False)
    return df, out
