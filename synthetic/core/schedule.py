"""Event schedules on the absolute calendar.

`periodic` lays a person's k-th repeat of something (a BP check, a prescription issue) at
phase + k * period (+ jitter), with k counted from 1970: the same event always has the same index,
date and random value, whichever extract window it falls in.
`episodes` draws care episodes (outpatient courses, community or mental health contacts) per calendar
year from a year-keyed generator, over the whole universe, so a year's draws never depend on the drop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .randomness import Keyed, stream_rng


def periodic(
    kr: Keyed,
    persons: npt.ArrayLike,
    start: npt.ArrayLike,
    end: npt.ArrayLike,
    period: npt.ArrayLike,
    lo: int,
    hi: int,
    jitter: float = 0.25,
    skip: npt.ArrayLike = 0.0,
    phase: npt.ArrayLike | None = None,
    key: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Events in [max(start, lo), min(end, hi)] for each person (vectorised).

    Returns (row index into the inputs, event index k, day). `key` (default: persons) keys the randomness;
    `phase` (default: random per key) anchors the schedule, e.g. the first issue of a prescription.
    """
    persons = np.asarray(persons, dtype=np.int64)
    key = persons if key is None else np.asarray(key, dtype=np.int64)
    period = np.broadcast_to(np.asarray(period, dtype=np.float64), persons.shape)
    a = np.maximum(np.broadcast_to(start, persons.shape), lo)
    b = np.minimum(np.broadcast_to(end, persons.shape), hi)
    ok = np.flatnonzero((a <= b) & (period > 0))
    if ok.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    key_ok, per, a, b = key[ok], period[ok], a[ok], b[ok]
    if phase is None:
        ph = kr.uniform(key_ok, -1) * per
    else:
        ph = np.broadcast_to(np.asarray(phase, dtype=np.float64), persons.shape)[ok]
    # every k whose (jittered, floored) day can fall in [a, b]; one spare index each side, the exact
    # window test below decides
    k0 = np.floor((a - ph) / per - jitter).astype(np.int64) - 1
    k1 = np.floor((b + 1 - ph) / per + jitter).astype(np.int64) + 1
    count = np.maximum(k1 - k0 + 1, 0)
    rows = np.repeat(np.arange(ok.size), count)
    first = np.repeat(np.cumsum(count) - count, count)
    k = k0[rows] + (np.arange(rows.size) - first)
    u_jit, u_skip = kr.uniform_pair(key_ok[rows], k)
    day = np.floor(ph[rows] + (k + (u_jit - 0.5) * 2 * jitter) * per[rows]).astype(np.int64)
    skip = np.broadcast_to(np.asarray(skip, dtype=np.float64), persons.shape)[ok][rows]
    keep = (day >= a[rows]) & (day <= b[rows]) & (u_skip >= skip)
    return ok[rows][keep], k[keep], day[keep]


def yearly_counts(seed: int, name: str, year: int, rate: np.ndarray) -> tuple[np.ndarray, np.random.Generator]:
    """Poisson counts for one calendar year from a (seed, name, year) generator; returns the generator
    too, so the caller draws the events' attributes from the same stream in a fixed order. Only people
    with a positive rate consume draws (which people those are depends on the universe, not the drop)."""
    rng = stream_rng(seed, name, year)
    counts = np.zeros(rate.shape, dtype=np.int64)
    nz = np.flatnonzero(rate > 0)
    counts[nz] = rng.poisson(rate[nz])
    return counts, rng


def expand(idx: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Repeat person indices by their counts; also the 0-based sequence number within each person."""
    rows = np.repeat(idx, counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    seq = np.arange(rows.size) - starts
    return rows, seq


def episodes(
    rng: np.random.Generator,
    persons: np.ndarray,
    starts: np.ndarray,
    mean_contacts: npt.ArrayLike,
    mean_gap_days: npt.ArrayLike,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contacts of care episodes: episode i has 1 + Poisson(mean-1) contacts, gaps ~ 1 + Exp(gap).
    Returns (episode row, contact number k, day)."""
    n = persons.size
    mean_contacts = np.broadcast_to(np.asarray(mean_contacts, dtype=np.float64), (n,))
    mean_gap = np.broadcast_to(np.asarray(mean_gap_days, dtype=np.float64), (n,))
    contacts = 1 + rng.poisson(np.maximum(mean_contacts - 1, 0))
    rows = np.repeat(np.arange(n), contacts)
    first = np.repeat(np.cumsum(contacts) - contacts, contacts)
    k = np.arange(rows.size) - first
    gaps = np.where(k == 0, 0.0, 1.0 + rng.exponential(1.0, rows.size) * mean_gap[rows])
    cum = np.cumsum(gaps)
    day = starts[rows] + np.floor(cum - np.repeat(cum[np.cumsum(contacts) - contacts], contacts)).astype(np.int64)
    return rows, k, day
