"""The synthetic world for (patients, seed): people (population.py), then what they have (conditions.py),
then who dies or leaves after ANCHOR (conditions raise the hazard of dying), then end-of-life care.
This module is the only one that knows the order, so population and conditions never import each other."""

from __future__ import annotations

import numpy as np

from ..core import calendar as cal
from .conditions import assign_clinical, death_multiplier, end_of_life
from .population import Universe, draw_people, future_exits


def build_universe(patients: int, seed: int, shard: int = 0) -> Universe:
    """Everyone in the synthetic world for (patients, seed) (shard: population.draw_people); independent of
    any extract date."""
    u, rng = draw_people(patients, seed, shard)
    assign_clinical(u)
    future_exits(u, rng, death_multiplier(u))
    end_of_life(u, u.clinical)
    u.switch_day = np.where(u.switch_day < u.exit_day, u.switch_day, cal.NEVER)
    return u
