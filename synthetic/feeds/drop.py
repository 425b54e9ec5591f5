"""generate_drop: one nightly extract of all eleven source feeds, plus its manifest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from contracts.extracts import file_sha256, load_contract

from ..core import calendar as cal
from ..core.nhs_number import MAX_SERIALS as NHS_MAX_SERIALS
from ..core.parameters import param
from ..core.randomness import Keyed
from ..core.reference import geography
from ..model.care import DRUGS, build_regimens
from ..model.population import ETHNIC_CATEGORIES, SEX_CODES, Universe, universe_size
from ..model.world import build_universe
from ..model.yearly import YearState, year_state
from .community import REASONS, SERVICE_TYPES, csds, mhsds, social_care
from .community import max_serials as contact_max_serials
from .defects import inject
from .gp import HOSPITAL_LOOKBACK_YEARS, antenatal_bookings, gp_events, medication_issues, registrations, window_start
from .hospital import CALIBRATION_YEAR, PROVIDERS, Hospital
from .hospital import MAX_SERIALS as ID_MAX_SERIALS

GENERATOR = {"name": "phm-synthetic", "version": "1"}
# build order: primary care, then hospital (A&E and social care reuse the hospital spells), then community
FEED_ORDER = (
    "gp_patients",
    "gp_events",
    "gp_medications",
    "sus_apc_spells",
    "ecds_attendances",
    "sus_op_appointments",
    "rtt_waiting_list",
    "cancer_registrations",
    "csds_contacts",
    "mhsds_contacts",
    "asc_services",
)


UNTRACED_SHARE = param("linkage.untraced_hospital_share")  # hospital records with no traced NHS number
log = logging.getLogger(__name__)


def max_serials() -> int:
    """Person serials a population (all its shards together) can have: the NHS numbers and every id layout."""
    return min(NHS_MAX_SERIALS, ID_MAX_SERIALS, contact_max_serials())


@lru_cache(maxsize=1)
def universe(patients: int, seed: int, shard: int = 0) -> Universe:
    """The synthetic world for (patients, seed) (or its shard), kept for the next drop of the same world."""
    u = build_universe(patients, seed, shard)
    u.extras["states"] = {}
    u.extras["regimens"] = build_regimens(u)
    u.extras["nhs_str"] = pl.Series("nhs_number", u.nhs).cast(pl.String)
    return u


def _states(u: Universe, years: Iterable[int]) -> dict[int, YearState]:
    cache = u.extras["states"]
    for y in years:
        if y not in cache:
            cache[y] = year_state(u, y)
    return cache


# ----------------------------------------------------------------------------- column helpers
def _strings(values: Iterable[str], idx: npt.ArrayLike, null: npt.ArrayLike | None = None) -> pl.Series:
    s = pl.Series(list(values), dtype=pl.String).gather(np.clip(np.asarray(idx, dtype=np.int64), 0, None))
    return _nullify(s, null)


def _nullify(s: pl.Series, null: npt.ArrayLike | None) -> pl.Series:
    if null is None or not np.any(null):
        return s
    return pl.select(pl.when(pl.Series(np.asarray(null, dtype=bool))).then(None).otherwise(s)).to_series().alias(s.name)


def _dates(days: npt.ArrayLike, null: npt.ArrayLike | None = None) -> pl.Series:
    days = np.asarray(days, dtype=np.int64)
    if null is None:
        null = days >= cal.NEVER
    return _nullify(pl.Series(np.where(null, 0, days).astype(np.int32)).cast(pl.Date), null)


def _nhs(u: Universe, person: npt.ArrayLike, untraced: npt.ArrayLike | None = None) -> pl.Series:
    return _nullify(u.extras["nhs_str"].gather(np.asarray(person, dtype=np.int64)), untraced)


def _prefixed(prefix: str, ids: npt.ArrayLike) -> pl.Series:
    return pl.select(pl.lit(prefix) + pl.Series(np.asarray(ids, dtype=np.int64)).cast(pl.String)).to_series()


def _untraced(seed: int, feed: str, ids: np.ndarray) -> np.ndarray:
    return Keyed(seed, f"untraced-{feed}").uniform(ids) < UNTRACED_SHARE


# ----------------------------------------------------------------------------- feeds
def _gp_patients(u: Universe, people: np.ndarray, E: int) -> pl.DataFrame:
    person, practice, start, end, death = registrations(u, people, E)
    geo = geography()
    eth = u.ethnicity[person]
    return pl.DataFrame(
        {
            "nhs_number": _nhs(u, person),
            "practice_code": _strings(geo.practice_codes, practice),
            "date_of_birth": _dates(u.dob[person]),
            "sex": _strings(SEX_CODES, u.sex[person]),
            "ethnic_category": _strings(ETHNIC_CATEGORIES, eth, eth < 0),
            "lsoa_code": _strings(geo.lsoa_codes, u.lsoa[person], u.lsoa_missing[person]),
            "registration_start_date": _dates(start),
            "registration_end_date": _dates(end),
            "date_of_death": _dates(death),
            "type1_opt_out": pl.Series(u.opt_out[person]),
        }
    )


def _order(key: np.ndarray) -> np.ndarray:
    """Stable row order by one integer key (polars' parallel sort keeping ties in generation order, so
    the order is deterministic)."""
    frame = pl.DataFrame({"k": np.asarray(key, dtype=np.int64)}).with_row_index("i")
    return frame.sort("k", maintain_order=True)["i"].to_numpy()


def _take(cols: dict, order: np.ndarray) -> dict:
    return {
        k: (v[order] if isinstance(v, np.ndarray) and v.ndim == 1 and v.size == order.size else v)
        for k, v in cols.items()
    }


def _by_day(cols: dict, day_key: str) -> dict:
    """Activity rows in date order (ties in generation order)."""
    day = np.asarray(cols[day_key], dtype=np.int64)
    return _take(cols, _order(day))


def _sorted_frame(cols: dict, keys: list[str]) -> pl.DataFrame:
    """GP rows ordered by person, date, code."""
    person, day, code = (np.asarray(cols[k], dtype=np.int64) for k in keys)
    order = _order((person << 32) | ((day + 30_000) << 16) | code)  # person 24 bits | day 16 | code 16
    return pl.DataFrame(_take(cols, order))


def _gp_events(u: Universe, people: np.ndarray, E: int) -> pl.DataFrame:
    ev = gp_events(u, people, E, u.extras["regimens"])
    person, day, code, value, unit = ev.columns()
    practice = u.practice_at(person, day)
    f = _sorted_frame(
        {"person": person, "day": day, "code": code, "value": value, "unit": unit, "practice": practice},
        ["person", "day", "code"],
    )
    del person, day, code, value, unit, practice  # the sorted frame holds the rows now
    geo = geography()
    unit_idx = f["unit"].to_numpy()
    val = f["value"].to_numpy()
    return pl.DataFrame(
        {
            "nhs_number": _nhs(u, f["person"].to_numpy()),
            "practice_code": _strings(geo.practice_codes, f["practice"].to_numpy()),
            "event_date": _dates(f["day"].to_numpy()),
            "snomed_code": _strings(ev.codes.items, f["code"].to_numpy()),
            "value": _nullify(pl.Series(val), np.isnan(val)),
            "unit": _strings(ev.units.items or [""], unit_idx, unit_idx < 0),
        }
    )


def _gp_medications(u: Universe, in_drop: np.ndarray, E: int) -> pl.DataFrame:
    from ..core.codes import MEDICINE

    person, day, drug, qty = medication_issues(u, u.extras["regimens"], in_drop, E)
    practice = u.practice_at(person, day)
    f = _sorted_frame(
        {"person": person, "day": day, "drug": drug, "qty": qty, "practice": practice}, ["person", "day", "drug"]
    )
    geo = geography()
    return pl.DataFrame(
        {
            "nhs_number": _nhs(u, f["person"].to_numpy()),
            "practice_code": _strings(geo.practice_codes, f["practice"].to_numpy()),
            "issue_date": _dates(f["day"].to_numpy()),
            "dmd_code": _strings([MEDICINE[d][0] for d in DRUGS], f["drug"].to_numpy()),
            "quantity": f["qty"],
        }
    )


def _apc(u: Universe, h: Hospital, spells: dict) -> pl.DataFrame:
    keep = spells["in_window"]
    s = _by_day({k: v[keep] for k, v in spells.items()}, "admit")
    from ..core.codes import COMORBIDITY_ICD
    from .hospital import CONDITION_BITS

    # secondary diagnoses: build each distinct (comorbidity set, fall code) string once
    combo = s["bits"].astype(np.int64) * 1000 + (s["fall"].astype(np.int64) + 1)
    uniq, inverse = np.unique(combo, return_inverse=True)
    texts = []
    for v in uniq:
        bits, fall = int(v // 1000), int(v % 1000) - 1
        parts = [COMORBIDITY_ICD[name] for b, name in enumerate(CONDITION_BITS) if bits >> b & 1]
        if fall >= 0:
            parts.append(h.icd.items[fall])
        texts.append(";".join(parts) if parts else None)
    secondary = pl.Series(texts, dtype=pl.String).gather(inverse)
    untraced = _untraced(u.seed, "apc", s["spell_id"])
    return pl.DataFrame(
        {
            "spell_id": _prefixed("APC", s["spell_id"]),
            "nhs_number": _nhs(u, s["person"], untraced),
            "provider_code": _strings(PROVIDERS, s["provider"]),
            "admission_date": _dates(s["admit"]),
            "discharge_date": _dates(s["discharge"], s["open"]),
            "admission_method": pl.Series(s["method"].astype(np.int64)).cast(pl.String),
            "primary_diagnosis_icd10": _strings(h.icd.items, s["primary"]),
            "secondary_diagnoses_icd10": secondary,
            "primary_procedure_opcs4": _strings(h.opcs.items or [""], s["procedure"], s["procedure"] < 0),
            "discharge_destination": _nullify(pl.Series(s["dest"].astype(np.int64)).cast(pl.String), s["open"]),
        }
    )


def _ecds(u: Universe, h: Hospital, a: dict) -> pl.DataFrame:
    a = _by_day({**a, "arrival_day": a["arr"] // 1440}, "arrival_day")
    untraced = _untraced(u.seed, "ecds", a["id"])
    us = 60_000_000
    return pl.DataFrame(
        {
            "attendance_id": _prefixed("AE", a["id"]),
            "nhs_number": _nhs(u, a["person"], untraced),
            "provider_code": _strings(PROVIDERS, a["provider"]),
            "arrival_datetime": pl.Series(a["arr"] * us).cast(pl.Datetime("us")),
            "departure_datetime": _nullify(
                pl.Series(np.maximum(a["dep"], 0) * us).cast(pl.Datetime("us")), a["dep"] < 0
            ),
            "arrival_mode": _strings(["0", "1", "2"], a["mode"]),
            "acuity": _nullify(pl.Series(a["acuity"].astype(np.int32)), a["acuity"] == 0),
            "diagnosis_snomed": _strings(h.snomed.items, a["diag"], a["diag"] < 0),
            "admitted": pl.Series(a["admitted"].astype(bool)),
        }
    )


def _op(u: Universe, o: dict) -> pl.DataFrame:
    # large activity feeds stay in generation order (calendar year, then person): fixed, and no sort to pay
    untraced = _untraced(u.seed, "op", o["id"])
    return pl.DataFrame(
        {
            "appointment_id": _prefixed("OP", o["id"]),
            "nhs_number": _nhs(u, o["person"], untraced),
            "provider_code": _strings(PROVIDERS, o["provider"]),
            "appointment_date": _dates(o["day"]),
            "treatment_function_code": _strings(o["tfc_values"], o["tfc"]),
            "first_attendance": pl.Series(o["first"].astype(bool)),
            "attendance_status": _strings([str(i) for i in range(8)], o["status"]),
        }
    )


def _rtt(u: Universe, r: dict) -> pl.DataFrame:
    r = _by_day(r, "start")
    return pl.DataFrame(
        {
            "pathway_id": _prefixed("RTT", r["id"]),
            "nhs_number": _nhs(u, r["person"]),
            "provider_code": _strings(PROVIDERS, r["provider"]),
            "treatment_function_code": _strings(r["tfc_values"], r["tfc"]),
            "clock_start_date": _dates(r["start"]),
            "priority": _strings(["", "P1", "P2", "P3", "P4"], r["prio"], r["prio"] == 0),
        }
    )


def _cancer(u: Universe, t: dict) -> pl.DataFrame:
    from ..model.conditions import STAGES

    t = _by_day(t, "day")
    return pl.DataFrame(
        {
            "tumour_id": _prefixed("T", t["id"]),
            "nhs_number": _nhs(u, t["person"]),
            "diagnosis_date": _dates(t["day"]),
            "site_icd10": pl.Series(t["site"].astype(str)),
            "stage": _strings(STAGES, t["stage"]),
        }
    )


def _csds(u: Universe, c: dict) -> pl.DataFrame:
    minutes = c["minutes"]
    return pl.DataFrame(
        {
            "contact_id": _prefixed("CC", c["id"]),
            "nhs_number": _nhs(u, c["person"]),
            "provider_code": _strings(PROVIDERS, c["provider"]),
            "contact_date": _dates(c["day"]),
            "team_type": _strings(c["names"], c["team"]),
            "attendance_status": _strings([str(i) for i in range(8)], c["status"]),
            "duration_minutes": _nullify(pl.Series(np.nan_to_num(minutes).astype(np.int32)), np.isnan(minutes)),
        }
    )


def _mhsds(u: Universe, m: dict) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "contact_id": _prefixed("MH", m["id"]),
            "nhs_number": _nhs(u, m["person"]),
            "provider_code": pl.Series(["RT1"] * m["id"].size, dtype=pl.String),
            "contact_date": _dates(m["day"]),
            "service_type": _strings(m["names"], m["service"]),
            "attendance_status": _strings([str(i) for i in range(8)], m["status"]),
        }
    )


def _asc(u: Universe, a: dict) -> pl.DataFrame:
    a = _by_day(a, "start")
    home = a["home91"]
    return pl.DataFrame(
        {
            "service_id": _prefixed("ASC", a["id"]),
            "nhs_number": _nhs(u, a["person"], a["unlinkable"]),
            "la_code": _strings(geography().district_la, a["district"]),
            "service_type": _strings(SERVICE_TYPES, a["type"]),
            "service_start_date": _dates(a["start"]),
            "service_end_date": _dates(a["end"]),
            "primary_support_reason": _strings(REASONS, a["reason"], a["reason"] < 0),
            "weekly_cost_gbp": _nullify(pl.Series(np.nan_to_num(a["cost"])), np.isnan(a["cost"])),
            "still_at_home_91_days": _nullify(pl.Series(home == 1), home < 0),
        }
    )


# ----------------------------------------------------------------------------- the drop
def exact_repeats(df: pl.DataFrame) -> int:
    """Rows that repeat an earlier row exactly (df.height - df.unique().height), without hashing whole
    string rows of a 14M-row feed at once: only rows whose 64-bit row hash is shared are compared."""
    row_hash = df.hash_rows()
    shared = row_hash.is_duplicated()
    del row_hash
    if not shared.any():
        return 0
    candidates = df.filter(shared)
    return candidates.height - candidates.unique().height


def _check(patients: int, extract_date: dt.date, defect_rate: float, file_format: str, shard: int = 0) -> int:
    if file_format not in ("parquet", "csv"):
        raise ValueError("file_format must be 'parquet' or 'csv'")
    if not 0 <= defect_rate < 0.2:
        raise ValueError("defect_rate must be in [0, 0.2)")
    if int(patients) < 1:
        raise ValueError("patients must be >= 1")
    if int(shard) < 0:
        raise ValueError("shard must be >= 0")
    if (int(shard) + 1) * universe_size(int(patients)) > max_serials():
        raise ValueError(
            f"shard {shard} of {patients:,} patients ({universe_size(int(patients)):,} people a shard) needs serials "
            f"beyond the {max_serials():,} a population can have"
        )
    E = cal.to_day(extract_date)
    if not cal.EARLIEST_EXTRACT <= E <= cal.LATEST_EXTRACT:
        raise ValueError(
            f"extract_date must be between {cal.to_date(cal.EARLIEST_EXTRACT)} and {cal.to_date(cal.LATEST_EXTRACT)}"
        )
    return E


def write_feeds(
    patients: int,
    seed: int,
    extract_date: dt.date,
    drop_dir: Path,
    defect_rate: float,
    file_format: str,
    feeds: tuple[str, ...],
    on_progress: Callable[[str], None] | None = None,
    shard: int = 0,
) -> dict:
    """Build, damage (defects) and write some feeds of a drop; returns feed -> (file info, defects).
    on_progress("world") once the people are simulated, then on_progress(feed) as each feed is written."""
    from .writer import conform, write_feed

    E = _check(patients, extract_date, defect_rate, file_format, shard)
    t0 = time.perf_counter()
    u = universe(int(patients), int(seed), int(shard))
    log.info("universe of %d people ready in %.1fs", u.n, time.perf_counter() - t0)
    if on_progress:
        on_progress("world")
    lookback = window_start(E, HOSPITAL_LOOKBACK_YEARS)
    in_drop = (u.entry_day <= E) & (u.exit_day >= lookback)
    people = np.flatnonzero(in_drop)
    window_years = range(int(cal.year_of(lookback)) - 1, int(cal.year_of(E)) + 1)
    cache: dict = {}

    def hospital() -> Hospital:
        if "hospital" not in cache:
            states = _states(u, sorted(set(window_years) | {CALIBRATION_YEAR}))
            cache["states"] = states
            cache["hospital"] = Hospital(u, E, states, antenatal_bookings(u, lookback - 400, E))
        return cache["hospital"]

    def spells() -> dict[str, Any]:
        if "spells" not in cache:
            cache["spells"] = hospital().spells(in_drop)
        return cache["spells"]

    def build(feed: str) -> pl.DataFrame:
        if feed == "gp_patients":
            return _gp_patients(u, people, E)
        if feed == "gp_events":
            return _gp_events(u, people, E)
        if feed == "gp_medications":
            return _gp_medications(u, in_drop, E)
        h = hospital()
        if feed == "sus_apc_spells":
            return _apc(u, h, spells())
        if feed == "ecds_attendances":
            return _ecds(u, h, h.ae_attendances(in_drop, spells()))
        if feed == "sus_op_appointments":
            return _op(u, h.outpatients(in_drop))
        if feed == "rtt_waiting_list":
            return _rtt(u, h.waiting_list(in_drop))
        if feed == "cancer_registrations":
            return _cancer(u, h.cancer_registrations(in_drop))
        if feed == "csds_contacts":
            return _csds(u, csds(u, cache["states"], window_years, in_drop, lookback, E))
        if feed == "mhsds_contacts":
            return _mhsds(u, mhsds(u, cache["states"], window_years, in_drop, lookback, E))
        if feed == "asc_services":
            return _asc(u, social_care(u, cache["states"], window_years, in_drop, E, spells()))
        raise KeyError(feed)

    out = {}
    for feed in feeds:
        t1 = time.perf_counter()
        df = conform(feed, build(feed))
        t2 = time.perf_counter()
        nullable_nhs = load_contract()[feed].column("nhs_number").nullable
        unlinkable = int(df["nhs_number"].null_count()) if nullable_nhs else 0
        df, defects = inject(feed, df, defect_rate, u.seed, E)  # a shard's own seed: its own defects
        if load_contract()[feed].key is None:
            # Two identical issues or codes on one day happen in the simulation as in GP systems; the gate
            # quarantines such repeats (rule duplicate_row), so the manifest declares them like any defect.
            repeats = exact_repeats(df)
            if repeats:
                defects.append(
                    {
                        "feed": feed,
                        "rule_id": "duplicate_row",
                        "column": ",".join(df.columns),
                        "rows": repeats,
                        "kind": "an exact repeat of another row (simulated, not injected): quarantined as a repeat",
                    }
                )
        path = drop_dir / f"{feed}.{file_format}"
        write_feed(df, path, file_format)
        if unlinkable:
            defects.append(
                {
                    "feed": feed,
                    "rule_id": "unlinkable",
                    "column": "nhs_number",
                    "rows": unlinkable,
                    "kind": "NHS number not traced (null): counted, not a defect",
                }
            )
        out[feed] = [{"file": path.name, "rows": df.height, "sha256": file_sha256(path)}, defects]
        log.info("%s: %d rows, built %.1fs, written %.1fs", feed, df.height, t2 - t1, time.perf_counter() - t2)
        if on_progress:
            on_progress(feed)
        del df
    return out


def generate_drop(
    patients: int,
    seed: int,
    extract_date: dt.date,
    out_dir: Path,
    defect_rate: float = 0.001,
    file_format: str = "parquet",
    on_progress: Callable[[str], None] | None = None,
    shard: int = 0,
) -> dict:
    """Write one extract drop to <out_dir>/<extract_date>/ (eleven feeds + manifest.json); return the manifest.
    on_progress: called with "world", then with each feed's name as it is written (FEED_ORDER).
    shard: K > 0 writes shard K of a population larger than one process holds (model.population.draw_people):
    its own people, with NHS numbers and ids no other shard of the same (patients, seed) has; shard 0 is the
    plain drop. Drops of shards 0..K-1 together are one population of about K * patients registered people.

    Deterministic: the same (patients, seed, extract_date, defect_rate) give byte-identical files. Two
    drops of the same (patients, seed) describe the same people; only defects depend on the date."""
    if isinstance(extract_date, dt.datetime):
        extract_date = extract_date.date()
    _check(patients, extract_date, defect_rate, file_format, shard)
    assert set(FEED_ORDER) == set(load_contract()), "the generator must write every feed of the contract"
    drop_dir = Path(out_dir) / extract_date.isoformat()
    drop_dir.mkdir(parents=True, exist_ok=True)
    # re-generating over an old drop: the manifest goes first (the drop is incomplete until the new one
    # lands) and files of the other format go, so no reader mixes two generations
    (drop_dir / "manifest.json").unlink(missing_ok=True)
    other = "csv" if file_format == "parquet" else "parquet"
    for feed in FEED_ORDER:
        (drop_dir / f"{feed}.{other}").unlink(missing_ok=True)
    results = write_feeds(
        int(patients),
        int(seed),
        extract_date,
        drop_dir,
        float(defect_rate),
        file_format,
        FEED_ORDER,
        on_progress,
        int(shard),
    )
    generator = {**GENERATOR, "seed": int(seed), "patients": int(patients), "defect_rate": float(defect_rate)}
    if shard:  # (shard 0's manifest is the plain drop's)
        size = universe_size(int(patients))
        generator.update(shard=int(shard), first_serial=int(shard) * size, people=size)
    manifest = {
        "extract_date": extract_date.isoformat(),
        "generator": generator,
        "feeds": {feed: results[feed][0] for feed in load_contract()},
        "defects": [d for feed in load_contract() for d in results[feed][1]],
    }
    tmp = drop_dir / ".manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(tmp, drop_dir / "manifest.json")
    return manifest
