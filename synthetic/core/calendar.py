"""Dates as int32 days since 1970-01-01 (what Arrow/Polars Date is), and the fixed simulation calendar.

The synthetic world is simulated on an absolute calendar, independent of any extract date: the
population is drawn so that exactly `patients` people are alive and registered on ANCHOR, with the
people who died or moved away since HISTORY_START and the births and arrivals until HORIZON_END.
Any extract date between EARLIEST_EXTRACT and LATEST_EXTRACT sees a consistent slice of that world.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import numpy.typing as npt

NEVER = 9_999_999  # "no such date" sentinel (year ~29000): safe to add to, compares after every real date
DAYS_PER_YEAR = 365.25


def day(y: int, m: int = 1, d: int = 1) -> int:
    return (dt.date(y, m, d) - dt.date(1970, 1, 1)).days


def to_day(value: dt.date) -> int:
    return (value - dt.date(1970, 1, 1)).days


def to_date(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(days))


def year_start(y: int) -> int:
    return day(y, 1, 1)


def year_of(days: npt.ArrayLike) -> np.ndarray:
    """Calendar year of day numbers (vectorised)."""
    return np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def month_of(days: npt.ArrayLike) -> np.ndarray:
    return (np.asarray(days, dtype="int64").astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12) + 1


def add_years(days: int, years: int) -> int:
    d = to_date(days)
    try:
        return to_day(d.replace(year=d.year + years))
    except ValueError:  # 29 February
        return to_day(d.replace(year=d.year + years, day=28))


def age_years(dob: npt.ArrayLike, at: npt.ArrayLike) -> np.ndarray:
    """Approximate age in (fractional) years: fine for rates and eligibility, not for whole-year reporting."""
    return (np.asarray(at, dtype=np.float64) - np.asarray(dob, dtype=np.float64)) / DAYS_PER_YEAR


HISTORY_START = day(2016, 1, 1)
ANCHOR = day(2026, 1, 1)
HORIZON_END = day(2032, 1, 1)
EARLIEST_EXTRACT = day(2021, 1, 1)
LATEST_EXTRACT = day(2031, 12, 31)
DATE_FLOOR = day(1900, 1, 1)
