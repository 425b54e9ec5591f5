"""Synthetic source systems for a Cambridgeshire & Peterborough-like population.

`generate_drop(patients, seed, extract_date, out_dir, defect_rate=0.001, file_format="parquet")` writes one
nightly extract of the eleven landing-zone feeds (contracts/extracts.yaml) plus manifest.json, and returns
the manifest.

How it hangs together:
* One synthetic world per (patients, seed), simulated on an absolute calendar (calendar.py): exactly
  `patients` people registered on 2026-01-01, with the people who died or left since 2016 and the births
  and arrivals until 2032. Extract dates from 2021-01-01 to 2031-12-31 are supported.
* Everything about a person (conditions and their dates, risk factors, frailty, medicines, personal
  utilisation factors) is drawn once; activity is drawn per calendar year or per person event with
  randomness keyed by (seed, stream, year / person / event index), never by the extract date. So two
  extracts of the same world show the same people and identical rows wherever their windows overlap;
  only the injected defects (defects.py) depend on the extract date.
* Windows: GP diagnoses and social codes are the whole record; observations 3 years (BP and QRISK 5 years,
  for case finding); prescriptions 2 years; hospital, community, mental health and social care 5 years;
  the RTT list is a snapshot of pathways open on the extract date.
* Deterministic files: fixed row order, fixed writer settings, written to a temporary name and renamed.
* Scale: one world is held in memory (about 1 GB per 200k patients), so a larger population is written as
  shards (`generate_drop(..., shard=K)`, `phm generate --shard K`): shard K has its own people, with person
  serials K * universe_size(patients) onwards, and NHS numbers and event ids no other shard of the same
  (patients, seed) has; shard 0 is the plain drop. Serials up to 90 million are addressable (drop.max_serials).

Layout: core/ (calendar, keyed randomness, schedules, reference data, code tables, parameters.py reading
parameters.yaml), model/ (population, conditions, care = prescribing, inequality = who gets which care, activity
= hospital rate models, yearly state, world = the order they are built in), feeds/ (gp, hospital, community,
defects, writer, drop), calibration.py (`phm calibrate`). The pipeline never imports this package.
"""

from .feeds.drop import generate_drop

__all__ = ["generate_drop"]
