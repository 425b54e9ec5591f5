"""The one generated population the end-to-end and interface tests share (the `generated_refresh` session fixture of
tests/conftest.py: one drop, one full refresh per test run). 5,000 people give the largest neighbourhood's Your
Healthier Futures list more than one page; the defect rate is the generator's default, which injects at least one
row of every (feed, rule) defect kind and still publishes. Tests that change a drop or a warehouse work on copies."""

from __future__ import annotations

from datetime import date

PATIENTS, SEED, EXTRACT_DATE, DEFECT_RATE = 5000, 7, date(2026, 10, 31), 0.001
