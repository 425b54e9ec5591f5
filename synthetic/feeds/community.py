"""Community services (CSDS), mental health services (MHSDS, CPFT) and adult social care (ASC CLD).

Contacts come in episodes (a course of district nursing, a run of talking therapy sessions) drawn per
calendar year from the year state, heavier for the frail, the elderly, diabetes, heart failure and the
palliative; children's nursing and epilepsy specialist nursing for the children who need them. Social
care follows frailty and care-home moves; reablement follows emergency discharges of older people.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core.parameters import group, param
from ..core.randomness import Keyed
from ..core.schedule import episodes, expand, yearly_counts
from ..model.inequality import rate_ratio
from ..model.population import Universe
from ..model.yearly import YearState
from .gp import HOSPITAL_LOOKBACK_YEARS, window_start

YEAR = cal.DAYS_PER_YEAR
PETERBOROUGH = 4  # index in reference.DISTRICTS

# team -> {ages, gate, terms, multiplier, contacts per episode, days between contacts, minutes, adult team}
CSDS_TEAMS = param("community_services")
MHSDS_SERVICES = param("mental_health_services")
SOCIAL_CARE_SERVICES = param("social_care_services")  # new episodes a year (residential/nursing follow care-home moves)
CSDS_KIND, MHSDS_KIND = 7, 8  # the contact ids' kind field


def contact_seq_limit(services: dict) -> int:
    """Bound on a contact id's sequence: service (2 digits, below the number of services) | episode of the
    year (2) | contact (2)."""
    return len(services) * 100 * 100


def max_serials() -> int:
    """Person serials the contact ids can address (6-digit sequences: the block goes in the sequence and day
    fields, hospital.id_blocks)."""
    from .hospital import ID_PERSON, id_blocks

    kind = max(CSDS_KIND, MHSDS_KIND)
    return min(id_blocks(6, contact_seq_limit(s), kind) for s in (CSDS_TEAMS, MHSDS_SERVICES)) * ID_PERSON


def _features(u: Universe, st: YearState) -> dict:
    """What a service's terms can name, per person registered in the year."""
    f = dict(st.flags)
    f.update(st.extra)
    f.update(
        const=np.ones(st.idx.size),
        age_years=st.age,
        age_75_plus=st.age >= 75,
        frailty_1=st.frailty == 1,
        frailty_2=st.frailty == 2,
        frailty_3=st.frailty == 3,
        frailty_2_plus=st.frailty >= 2,
        ltc_3_plus=st.n_conditions >= 3,
        palliative=st.palliative,
        epilepsy_child=st.flags["epilepsy"] & (st.age < 18),
        epilepsy_adult=st.flags["epilepsy"] & (st.age >= 18),
        depression_or_smi=st.flags["depression"] | st.flags["smi"],
        ltc_3_plus_under_65=(st.n_conditions >= 3) & (st.age < 65),
        at_home=~st.care_home,
        carer_coded=u.clinical.social["carer"][st.idx] <= st.hi,
    )
    return f


def service_rate(u: Universe, st: YearState, spec: dict) -> np.ndarray:
    """Episodes (or service starts) a year for one service: the sum of its components (a spec without
    `components` is one), each its terms among the people its ages and gate admit."""
    f = _features(u, st)
    total = np.zeros(st.idx.size)
    for part in spec.get("components", [spec]):
        lam = np.zeros(st.idx.size)
        for feature, coefficient in part["terms"].items():
            lam = lam + coefficient * f[feature]
        eligible = (st.age >= part.get("min_age", 0)) & (st.age < part.get("max_age", 200))
        if "gate" in part:
            eligible &= f[part["gate"]]
        if "multiplier" in part:
            lam = lam * rate_ratio(u, st.idx, part["multiplier"])
        total = total + lam * eligible
    return total


def _extras(u: Universe, st: YearState) -> None:
    if hasattr(st, "extra"):
        return
    c = u.clinical
    st.extra = {
        "hba1c_high": st.flags["diabetes"] & (c.params["hba1c_dm"][st.idx] > 75),
        "female_16_45": (u.sex[st.idx] == 1) & (st.age >= 16) & (st.age < 46),
    }


def _contacts(
    u: Universe,
    states: dict[int, YearState],
    years: Iterable[int],
    services: dict,
    stream: str,
    kind: int,
    in_drop: np.ndarray,
    lo: int,
    hi: int,
    with_duration: bool,
) -> dict[str, Any]:
    from .hospital import _ids

    out: dict[str, list[np.ndarray]] = {k: [] for k in ("person", "day", "service", "id", "minutes")}
    names = tuple(services)
    for year in years:
        st = states[year]
        _extras(u, st)
        for j, name in enumerate(names):
            spec = services[name]
            lam = service_rate(u, st, spec) * st.frac * u.clinical.propensity["community"][st.idx]
            counts, rng = yearly_counts(u.seed, f"{stream}-{name}", year, lam)
            local, seq = expand(np.arange(st.idx.size), counts)
            if local.size == 0:
                continue
            person = st.idx[local]
            start = st.lo[local] + np.floor(rng.random(local.size) * (st.hi[local] - st.lo[local] + 1)).astype(np.int64)
            rows, k, day = episodes(rng, person, start, spec["contacts"], spec["gap_days"])
            keep = (day <= u.exit_day[person[rows]]) & (day >= lo) & (day <= hi) & in_drop[person[rows]]
            rows, k, day = rows[keep], k[keep], day[keep]
            out["person"].append(person[rows])
            out["day"].append(day)
            out["service"].append(np.full(rows.size, j, dtype=np.int16))
            # id: kind | person | episode start | service (2 digits) | episode of the year (2) | contact (2)
            if rows.size and (seq[rows].max() >= 100 or k.max() >= 100):
                raise OverflowError(f"{name}: too many episodes or contacts for the contact id")
            out["id"].append(
                _ids(
                    np.full(rows.size, kind),
                    u.serial(person[rows]),
                    start[rows],
                    (j * 100 + seq[rows]) * 100 + k,
                    6,
                    contact_seq_limit(services),
                )
            )
            if with_duration:
                out["minutes"].append(np.full(rows.size, spec["minutes"], dtype=np.float64))
    res: dict[str, Any] = {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}
    res["names"] = names
    return res


def csds(
    u: Universe, states: dict[int, YearState], years: Iterable[int], in_drop: np.ndarray, lo: int, hi: int
) -> dict[str, Any]:
    r = _contacts(u, states, years, CSDS_TEAMS, "csds", CSDS_KIND, in_drop, lo, hi, True)
    kr = Keyed(u.seed, "csds-status")
    v1, v2 = kr.uniforms(2, r["id"])
    st = param("community_records.csds_status_cumulative")
    status = np.select(
        [v1 < st["did_not_attend"], v1 < st["cancelled_by_patient"], v1 < st["arrived_late_seen"]], [3, 2, 6], 5
    )
    spread = param("community_records.csds_minutes_log_spread")
    minutes = np.where(status >= 5, np.round(r["minutes"] * np.exp(spread * (v2 - 0.5) * 2)), np.nan)
    adult_team = np.array([CSDS_TEAMS[n]["adult_team"] for n in r["names"]])[r["service"].astype(int)]
    person = r["person"].astype(np.int64)
    provider = np.where(
        adult_team & (u.district[person] == PETERBOROUGH), 4, 3
    )  # RT1 runs adult services in Peterborough
    return dict(
        id=r["id"],
        person=person,
        provider=provider,
        day=r["day"].astype(np.int64),
        team=r["service"].astype(np.int64),
        names=list(r["names"]),
        status=status,
        minutes=minutes,
    )


def mhsds(
    u: Universe, states: dict[int, YearState], years: Iterable[int], in_drop: np.ndarray, lo: int, hi: int
) -> dict[str, Any]:
    r = _contacts(u, states, years, MHSDS_SERVICES, "mhsds", MHSDS_KIND, in_drop, lo, hi, False)
    v1 = Keyed(u.seed, "mhsds-status").uniform(r["id"])
    st = param("community_records.mhsds_status_cumulative")
    status = np.select(
        [v1 < st["did_not_attend"], v1 < st["cancelled_by_patient"], v1 < st["arrived_late_seen"]], [3, 2, 6], 5
    )
    return dict(
        id=r["id"],
        person=r["person"].astype(np.int64),
        day=r["day"].astype(np.int64),
        service=r["service"].astype(np.int64),
        names=list(r["names"]),
        status=status,
    )


SERVICE_TYPES = (
    "Residential",
    "Nursing",
    "Home care",
    "Direct payment",
    "Supported living",
    "Reablement",
    "Carer support",
)
REASONS = (
    "Physical support",
    "Sensory support",
    "Memory and cognition",
    "Learning disability",
    "Mental health",
    "Social support",
)


def social_care(
    u: Universe,
    states: dict[int, YearState],
    years: Iterable[int],
    in_drop: np.ndarray,
    extract_day: int,
    spells: dict[str, Any],
) -> dict[str, np.ndarray]:
    """Service episodes open at some point in the lookback window."""
    from .hospital import _ids

    c, E = u.clinical, extract_day
    lo = window_start(E, HOSPITAL_LOOKBACK_YEARS)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("person", "type", "start", "end", "reason", "cost", "home91", "id")
    }
    kr = Keyed(u.seed, "asc")

    def add(
        person: np.ndarray,
        stype: npt.ArrayLike,
        start: np.ndarray,
        end: np.ndarray,
        reason: npt.ArrayLike,
        cost: npt.ArrayLike,
        kind: int,
        seq: npt.ArrayLike,
        home91: np.ndarray | None = None,
    ) -> None:
        parts["person"].append(person)
        parts["type"].append(np.broadcast_to(stype, person.shape).astype(np.int8))
        parts["start"].append(start)
        parts["end"].append(np.minimum(end, u.exit_day[person]))
        parts["reason"].append(np.broadcast_to(reason, person.shape).astype(np.int8))
        parts["cost"].append(np.broadcast_to(cost, person.shape).astype(np.float64))
        parts["home91"].append(np.full(person.shape, -1, dtype=np.int8) if home91 is None else home91)
        parts["id"].append(_ids(np.full(person.size, kind), u.serial(person), start, seq))

    # residential / nursing: council-funded care-home residents
    rec = group("social_care_records")
    cost_w, length_w = rec["weekly_cost"], rec["service_length"]
    ch = np.flatnonzero((c.care_home_day <= E) & (c.care_home_day < cal.NEVER))
    funded = ch[kr.uniform(ch, 1) < rec["care_home_council_funded_share"]]
    nursing = (c.frailty_level(funded, c.care_home_day[funded]) >= 3) | (
        c.onset["dementia"][funded] <= c.care_home_day[funded]
    )
    nursing = nursing & (kr.uniform(funded, 2) < rec["nursing_share_of_eligible"])
    reason = np.where(
        c.onset["dementia"][funded] <= c.care_home_day[funded],
        2,
        np.where(c.onset["learning_disability"][funded] < cal.NEVER, 3, 0),
    )
    cost = np.round(
        np.where(
            nursing,
            cost_w["nursing"][0] + cost_w["nursing"][1] * kr.uniform(funded, 3),
            cost_w["residential"][0] + cost_w["residential"][1] * kr.uniform(funded, 3),
        ),
        2,
    )
    add(funded, np.where(nursing, 1, 0), c.care_home_day[funded], u.exit_day[funded], reason, cost, 1, 0)
    # per-year starts of home care, direct payments, supported living and carer support
    for year in years:
        st = states[year]
        f = st.flags
        _extras(u, st)
        for name, spec in SOCIAL_CARE_SERVICES.items():
            stype = SERVICE_TYPES.index(name)
            counts, rng = yearly_counts(u.seed, f"asc-{stype}", year, service_rate(u, st, spec) * st.frac)
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            start = st.lo[local] + np.floor(rng.random(local.size) * (st.hi[local] - st.lo[local] + 1)).astype(np.int64)
            median = spec["median_days"]
            length = (
                np.exp(np.log(median) + length_w["log_sd"] * rng.standard_normal(local.size)).astype(np.int64)
                + length_w["min_days"]
            )
            r = rng.random(local.size)
            if stype == 2:
                reason = np.where(
                    f["dementia"][local],
                    2,
                    np.where(f["learning_disability"][local], 3, np.where(r < rec["home_care_sensory_share"], 1, 0)),
                )
                cost = np.round(cost_w["home_care"][0] + cost_w["home_care"][1] * rng.random(local.size), 2)
            elif stype == 3:
                reason = np.where(f["learning_disability"][local], 3, np.where(f["smi"][local], 4, 0))
                cost = np.round(cost_w["direct_payment"][0] + cost_w["direct_payment"][1] * rng.random(local.size), 2)
            elif stype == 4:
                reason = np.where(f["learning_disability"][local], 3, 4)
                cost = np.round(
                    cost_w["supported_living"][0] + cost_w["supported_living"][1] * rng.random(local.size), 2
                )
            else:
                reason = np.full(local.size, 5)
                cost = np.where(
                    r < rec["carer_support_cost_missing_share"],
                    np.nan,
                    np.round(cost_w["carer_support"][0] + cost_w["carer_support"][1] * rng.random(local.size), 2),
                )
            add(person, stype, start, start + length, reason, cost, 2 + stype, seq)
    # reablement after an emergency discharge home of someone 65+
    em = (spells["method"] >= 21) & (spells["method"] <= 28) & ~spells["open"] & (spells["dest"] == 19)
    p = spells["person"][em]
    dis = spells["discharge"][em]
    sid = spells["spell_id"][em]
    age = cal.age_years(u.dob[p], dis)
    v = Keyed(u.seed, "reablement").uniforms(4, sid)
    frail = c.frailty_level(p, dis)
    take = (age >= 65) & (
        v[0]
        < param("activity.reablement.p_after_discharge_65")
        + param("activity.reablement.p_after_discharge_frail") * (frail >= 2)
    )
    p, dis, sid = p[take], dis[take], sid[take]
    v = [x[take] for x in v]
    rb = rec["reablement"]
    start = dis + (v[1] * rb["start_within_days"]).astype(np.int64)
    end = start + rb["length_min_days"] + (v[2] * rb["length_spread_days"]).astype(np.int64)
    settled = dis + 91 <= E
    gone = (u.exit_day[p] <= dis + 91) | ((c.care_home_day[p] > dis) & (c.care_home_day[p] <= dis + 91))
    home91 = np.where(
        settled, np.where(gone | (v[3] < param("activity.reablement.p_not_home_91_days")), 0, 1), -1
    ).astype(np.int8)
    # two discharges can lead to reablement starting the same day: number them by spell id within the day
    order = np.lexsort((sid, start, p))
    first = np.r_[True, (p[order][1:] != p[order][:-1]) | (start[order][1:] != start[order][:-1])]
    group_start = np.maximum.accumulate(np.where(first, np.arange(order.size), 0))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - group_start
    cost = np.where(
        v[3] < rb["cost_missing_share"],
        np.nan,
        np.round(cost_w["reablement"][0] + cost_w["reablement"][1] * v[2], 2),
    )
    add(p, 5, start, end, 0, cost, 9, rank, home91)

    cols = {k: np.concatenate(v) for k, v in parts.items()}
    ok = (
        (cols["start"] <= E)
        & (cols["end"] >= lo)
        & in_drop[cols["person"]]
        & (cols["start"] >= u.entry_day[cols["person"]] - 365)
        & (cols["start"] <= cols["end"])
    )  # a service cannot start after the person died or left
    cols = {k: v[ok] for k, v in cols.items()}
    cols["end"] = np.where(cols["end"] > E, cal.NEVER, cols["end"])
    uf = Keyed(u.seed, "asc-fields").uniforms(2, cols["id"])
    cols["reason"] = np.where(uf[0] < rec["reason_not_recorded_share"], -1, cols["reason"])
    cols["unlinkable"] = uf[1] < rec["unlinkable_share"]  # social care records often lack a traced NHS number
    cols["district"] = u.district[cols["person"]].astype(np.int64)
    return cols
