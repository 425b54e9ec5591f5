"""Disclosure control and Type 1 opt-outs in the published aggregates (marts.core20plus5_indicators, marts.bcf_metrics).

The people (tests/helpers/disclosure.py) are built by the session's `dbt build` of DISCLOSURE_REFERENCE_DATE
(2025-04-15), beside the spine's patients and that date's golden patients (tests/conftest.py, `hand_built`). They sit
at practices no other patient uses, one per PCN, so each practice's (and PCN's) counts are exactly the groups below,
and theirs are the only falls 65+ in Peterborough (test_no_other_patient_shares_these_groups checks both).

htn_case_finding (denominator: 45+ not on the hypertension register; numerator: a BP in 5 years) needs nothing but a
registration and BP events, so it carries the practice-level cases:
    D81014  3 people, 3 with a BP               -> 1-7 in both counts: suppressed, counts and value null
    D81057  8 people, 8 with a BP               -> 8 is published, rounded: 10 / 10, 100.0
    D81002 13 people, 12 with a BP              -> 10 / 15, value 66.7 from the ROUNDED counts (unrounded 92.3)
    D81030 20 people, 3 with a BP               -> numerator 3: the whole row is suppressed
    D81021 16 people, 6 of them Type 1 opt-outs -> 10 / 10 (16 would round to 15); all 16 in core20plus5_person
BCF (Peterborough, LSOA decile 1, practice D81065): 12 people aged 70 with an emergency fall spell (W010 secondary)
this year (2024-04-16..2025-04-15); a person aged 64 with one; 2 opted-out 70-year-olds with one; one of the 12 also fell in the previous
period -> falls 65+: numerator 12 -> 10 (13 or 14 would round to 15), denominator 12 -> 10, value 100000.0;
previous period numerator 1 -> suppressed.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from tests.helpers.dbt_build import REPO, query
from tests.helpers.disclosure import CASE_FINDING_GROUPS, DISCLOSURE_REFERENCE_DATE, FALLS_PRACTICE, NHS_PREFIX

INDICATOR_DEFINITIONS = REPO / "seeds" / "indicator_definitions.csv"
SPEC = REPO.parent / "shared" / "docs" / "clinical-spec.md"


@pytest.fixture(scope="module")
def built(hand_built):
    """The session's build of the disclosure date (these people beside that date's golden and spine patients)."""
    return hand_built(DISCLOSURE_REFERENCE_DATE).db_path


def _indicator_row(
    db_path: Path, indicator: str, level: str, code: str, breakdown: str = "all", value: str = "All"
) -> tuple | None:
    rows = query(
        db_path,
        f"""
        select numerator, denominator, value, suppressed from marts.core20plus5_indicators
        where indicator_id = '{indicator}' and geography_level = '{level}' and geography_code = '{code}'
          and breakdown = '{breakdown}' and breakdown_value = '{value}'""",
    )
    assert len(rows) <= 1
    return rows[0] if rows else None


@pytest.mark.parametrize(
    "practice, expected",
    [
        ("D81014", (None, None, None, True)),  # 3 / 3: suppressed
        ("D81057", (10, 10, 100.0, False)),  # 8 / 8 -> 10 / 10
        ("D81002", (10, 15, 66.7, False)),  # 12 / 13 -> 10 / 15, value from the rounded counts
        ("D81030", (None, None, None, True)),  # 3 / 20: a small numerator suppresses the row
        ("D81021", (10, 10, 100.0, False)),  # 16 people, 6 opted out -> 10 / 10
    ],
)
def test_practice_suppression_and_rounding(built, practice, expected):
    assert _indicator_row(built, "htn_case_finding", "practice", practice) == expected


def test_pcn_and_breakdowns_follow_the_same_rule(built):
    # One test practice per PCN: the PCN row equals the practice row; every test person is female, Rest, 40-59.
    pcn = query(built, "select pcn_code from reference.practice_map where practice_code = 'D81002'")[0][0]
    assert _indicator_row(built, "htn_case_finding", "pcn", pcn) == (10, 15, 66.7, False)
    assert _indicator_row(built, "htn_case_finding", "practice", "D81002", "core20", "Rest") == (10, 15, 66.7, False)
    assert _indicator_row(built, "htn_case_finding", "practice", "D81002", "age_band", "40-59") == (10, 15, 66.7, False)
    assert _indicator_row(built, "htn_case_finding", "practice", "D81014", "sex", "Female") == (None, None, None, True)
    # Nobody in a breakdown group -> no row (not a zero row).
    assert _indicator_row(built, "htn_case_finding", "practice", "D81002", "sex", "Male") is None


def test_type1_opt_outs_in_person_mart_but_not_in_aggregates(built):
    rows = query(
        built,
        """
        select c.type1_opt_out, count(*), sum(case when c.htn_case_finding_denominator then 1 else 0 end)
        from marts.core20plus5_person as c inner join marts.person as p on c.person_id = p.person_id
        where p.practice_code = 'D81021' group by c.type1_opt_out order by 1""",
    )
    assert rows == [(False, 10, 10), (True, 6, 6)]
    # ICB totals equal the opt-out-free person counts, rounded.
    unrounded = query(
        built,
        """
        select sum(case when htn_case_finding_denominator then 1 else 0 end),
               sum(case when htn_case_finding_numerator then 1 else 0 end)
        from marts.core20plus5_person where not type1_opt_out""",
    )[0]
    numerator, denominator, _, suppressed = _indicator_row(built, "htn_case_finding", "icb", "QUE")
    assert not suppressed
    assert denominator == 5 * int(unrounded[0] / 5 + 0.5) and numerator == 5 * int(unrounded[1] / 5 + 0.5)


def test_bcf_falls_rounding_suppression_and_opt_outs(built):
    rows = {
        r[0]: r[1:]
        for r in query(
            built,
            """
        select period_offset_years, numerator, denominator, value, suppressed from marts.bcf_metrics
        where metric_id = 'emergency_admissions_falls_65plus' and la_code = 'E06000031'""",
        )
    }
    assert rows[0] == (10, 10, 100000.0, False)  # 12 falls 65+ (not the 64-year-old, not the 2 opt-outs)
    assert rows[1] == (None, None, None, True)  # one fall in the previous period
    units = query(
        built,
        """
        select count(*) from intermediate.int_indicators__bcf_units as u
        inner join intermediate.int_indicators__bcf_periods as p on u.period = p.period
        where u.metric_id = 'emergency_admissions_falls_65plus' and p.period_offset_years = 0
          and u.la_code = 'E06000031'""",
    )
    assert units == [(12,)]


def test_no_published_count_discloses(built):
    for table, key in (("core20plus5_indicators", "indicator_id"), ("bcf_metrics", "metric_id")):
        bad = query(
            built,
            f"""
            select {key}, numerator, denominator, value, suppressed from marts.{table}
            where (numerator between 1 and 7) or (denominator between 1 and 7)
               or numerator % 5 <> 0 or denominator % 5 <> 0
               or (suppressed and (numerator is not null or denominator is not null or value is not null))
               or (not suppressed and (numerator is null or denominator is null))""",
        )
        assert bad == [], table
        assert query(built, f"select count(*) from marts.{table} where suppressed")[0][0] > 0, table


def test_no_suppressed_cell_can_be_recovered_from_its_breakdown_total(built):
    """Secondary suppression: a breakdown whose cells add up to the published 'all' row never has exactly one
    suppressed cell (total minus the others would give it away); on these people, without it, one group did."""
    lone = query(
        built,
        """
        select indicator_id, geography_level, geography_code, breakdown from marts.core20plus5_indicators
        where breakdown <> 'all'
        group by all having count(*) filter (where suppressed) = 1 and count(*) > 1""",
    )
    assert lone == []
    suppressed_pairs = query(
        built,
        """
        select count(*) from (
            select indicator_id, geography_level, geography_code, breakdown from marts.core20plus5_indicators
            where breakdown <> 'all' group by all having count(*) filter (where suppressed) >= 2)""",
    )
    assert suppressed_pairs[0][0] > 0  # the secondary suppression ran here, not only never had a case


def test_every_indicator_has_person_columns_and_aggregate_rows(built):
    with INDICATOR_DEFINITIONS.open() as f:
        definitions = {r["indicator_id"]: r for r in csv.DictReader(f)}
    # The spec's Identifiers are all defined (the seed may hold more, e.g. copd_emergency_admissions).
    if SPEC.exists():
        identifiers = SPEC.read_text().split("- Core20PLUS5 indicator ids", 1)[1].split("- Reversible-risk", 1)[0]
        spec_ids = set(re.findall(r"`([a-z0-9_]+)`", identifiers)) - {"core20plus5_person"}
        assert spec_ids <= set(definitions), sorted(spec_ids - set(definitions))
    columns = {
        r[0]
        for r in query(
            built,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'core20plus5_person'",
        )
    }
    for indicator_id in definitions:
        assert {f"{indicator_id}_denominator", f"{indicator_id}_numerator"} <= columns, indicator_id
    units = dict(
        query(built, "select distinct indicator_id, counting_unit from intermediate.int_indicators__person_long")
    )
    for indicator_id, unit in units.items():
        assert unit == definitions[indicator_id]["counting_unit"], indicator_id
    # htn_case_finding has rows at every geography level and breakdown.
    combos = set(
        query(
            built,
            "select distinct geography_level, breakdown from marts.core20plus5_indicators "
            "where indicator_id = 'htn_case_finding'",
        )
    )
    assert combos == {
        (g, b)
        for g in ("practice", "pcn", "neighbourhood", "place", "icb")
        for b in ("all", "imd_quintile", "ethnicity_group", "sex", "age_band", "core20")
    }


def test_no_other_patient_shares_these_groups(built):
    """The counts above are exact only while no spine or golden patient of the same build sits at these
    practices or falls at 65+ in Peterborough: a golden file at this date that does so must move."""
    practices = [*CASE_FINDING_GROUPS, FALLS_PRACTICE]
    others = query(
        built,
        f"""
        select person_id, practice_code from marts.person
        where practice_code in ({", ".join(f"'{p}'" for p in practices)})
          and person_id not like 'pid_{NHS_PREFIX}%'""",
    )
    assert others == []
    fallers = query(
        built,
        f"""
        select distinct u.person_id from intermediate.int_indicators__bcf_units as u
        where u.metric_id = 'emergency_admissions_falls_65plus' and u.la_code = 'E06000031'
          and u.person_id not like 'pid_{NHS_PREFIX}%'""",
    )
    assert fallers == []
