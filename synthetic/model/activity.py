"""Rate models of hospital activity: per person and calendar year, from the year state (age, registers,
frailty, care home, deprivation, risk factors) and the person's persistent propensity. The feeds
(feeds/hospital.py) turn rates into spells, attendances and appointments. Every coefficient is in
parameters.yaml (activity_models, activity.volumes, activity.deprivation)."""

from __future__ import annotations

import numpy as np

from ..core import calendar as cal
from ..core.parameters import array, group, param
from .population import Universe
from .yearly import YearState, rate_by_age


def _age_curve(model: str, st: YearState) -> np.ndarray:
    return rate_by_age(st.age, array(f"activity_models.{model}.age_knots"), array(f"activity_models.{model}.age_rates"))


def _conditions(model: str, st: YearState) -> np.ndarray:
    x = np.zeros(st.idx.size)
    for name, w in param(f"activity_models.{model}.condition_effects").items():
        x = x + w * st.flags[name]
    return x


def emergency(u: Universe, st: YearState) -> np.ndarray:
    c, f, idx = u.clinical, st.flags, st.idx
    m = group("activity_models.emergency")
    x = (
        _conditions("emergency", st)
        + m["frailty_per_level"] * st.frailty
        + m["care_home"] * st.care_home
        + param("activity.deprivation.emergency_per_decile") * (10 - u.imd[idx])
        + m["current_smoker"] * (c.smoking[idx] == 2)
        + m["uncontrolled_bp"] * (f["hypertension"] & (c.params["bp_class"][idx] == 2))
        + m["uncontrolled_diabetes"] * (f["diabetes"] & (c.params["hba1c_dm"][idx] > 75))
    )
    return _age_curve("emergency", st) * np.exp(x) * c.propensity["emergency"][idx] * st.frac


def ae(u: Universe, st: YearState) -> np.ndarray:
    c, idx = u.clinical, st.idx
    m = group("activity_models.ae")
    x = (
        _conditions("ae", st)
        + param("activity.deprivation.ae_per_decile") * (10 - u.imd[idx])
        + m["frailty_per_level"] * st.frailty
        + m["current_smoker"] * (c.smoking[idx] == 2)
        + m["homeless"] * (c.social["homeless"][idx] < cal.NEVER)
    )
    return _age_curve("ae", st) * np.exp(x) * c.propensity["ae"][idx] * st.frac


def elective(u: Universe, st: YearState) -> np.ndarray:
    m = group("activity_models.elective")
    x = (
        m["per_condition"] * st.n_conditions.clip(0, 4)
        + m["diabetes"] * st.flags["diabetes"]
        + m["care_home"] * st.care_home
        + m["severe_frailty"] * (st.frailty >= 3)
    )
    return _age_curve("elective", st) * np.exp(x) * u.clinical.propensity["elective"][st.idx] * st.frac


def outpatient(u: Universe, st: YearState) -> np.ndarray:
    m = group("activity_models.outpatient")
    x = (
        m["per_condition"] * st.n_conditions.clip(0, 5)
        + _conditions("outpatient", st)
        + m["female"] * (u.sex[st.idx] == 1)
        + m["care_home"] * st.care_home
    )
    return _age_curve("outpatient", st) * np.exp(x) * u.clinical.propensity["outpatient"][st.idx] * st.frac


MODELS = {
    "emergency": (emergency, "emergency_base_rate"),
    "ae": (ae, "ae_other_rate"),
    "elective": (elective, "elective_rate"),
    "outpatient": (outpatient, "op_episode_rate"),
}


class Rates:
    """The four rate models, each scaled once so the calibration-year population has its target volume."""

    def __init__(self, u: Universe, calibration_state: YearState) -> None:
        self.u = u
        self.scale: dict[str, float] = {}
        for name, (model, volume) in MODELS.items():
            lam = model(u, calibration_state)
            self.scale[name] = param(f"activity.volumes.{volume}") * lam.size / max(lam.sum(), 1e-9)

    def __call__(self, name: str, st: YearState) -> np.ndarray:
        return MODELS[name][0](self.u, st) * self.scale[name]
