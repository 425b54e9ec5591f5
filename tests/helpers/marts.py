"""Hand-made marts that pass every gate-2 check, and one breakage per check (gate-2 SQL and GX suite tests)."""

from __future__ import annotations

PEOPLE = 2000  # above every share check's min_population
FLAGS = [
    "bp_above_target",
    "possible_undiagnosed_hypertension",
    "lipids_untreated",
    "af_not_anticoagulated",
    "hba1c_above_target",
    "non_diabetic_hyperglycaemia",
    "current_smoker",
    "obesity",
]


def clean_marts(con, people: int = PEOPLE) -> None:
    """Marts that meet every check: tiers exactly 1/4/15/80 %, lists of 5% of people in their own neighbourhood."""
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA reference")
    con.execute("""CREATE TABLE reference.thresholds AS SELECT * FROM (VALUES ('risk_tier_very_high_pct', 1.0),
                   ('risk_tier_high_pct', 5.0), ('risk_tier_medium_pct', 20.0)) v(rule_id, value)""")
    con.execute(f"""CREATE TABLE marts.person AS
        SELECT 'p' || i AS person_id, 'D8100' || (i % 3) AS practice_code, 'U0000' || (i % 3) AS pcn_code,
               'Neighbourhood ' || (i % 3) AS neighbourhood, 'North' AS place, 20 + i % 70 AS age
        FROM range({people}) r(i)""")
    con.execute(f"""CREATE TABLE marts.person_risk AS
        SELECT person_id, neighbourhood, practice_code, 1.0 / (rank) AS risk_score, rank AS risk_rank,
               CASE WHEN rank <= {people} * 0.01 THEN 'Very high' WHEN rank <= {people} * 0.05 THEN 'High'
                    WHEN rank <= {people} * 0.20 THEN 'Medium' ELSE 'Low' END AS risk_tier
        FROM (SELECT *, row_number() OVER (ORDER BY person_id) AS rank FROM marts.person)""")
    flags = ", ".join(f"(hash(person_id || '{f}') % 5 = 0) AS {f}" for f in FLAGS)
    count = " + ".join(f"CAST({f} AS INTEGER)" for f in FLAGS)
    con.execute(f"""CREATE TABLE marts.reversible_risk AS
        SELECT *, {count} AS reversible_factor_count FROM (
            SELECT r.person_id, {flags}, r.risk_score, r.risk_tier FROM marts.person_risk AS r)""")
    con.execute("""CREATE TABLE marts.pathway_status AS
        SELECT person_id, pathway, CASE WHEN hash(person_id) % 3 = 0 THEN 'Red' ELSE 'Green' END AS rag,
               'BP 168/96 on 2026-09-14, above 140/90' AS reasons, 'Review BP' AS next_action,
               neighbourhood, practice_code
        FROM marts.person, (VALUES ('hypertension'), ('diabetes')) v(pathway)""")
    con.execute("""CREATE TABLE marts.target_lists AS
        SELECT list_name, neighbourhood, practice_code, person_id,
               row_number() OVER (PARTITION BY list_name, neighbourhood ORDER BY person_id) AS priority_rank,
               'reason' AS reasons, 'action' AS recommended_action, true AS new_since_last_refresh
        FROM marts.person, (VALUES ('your_healthier_futures'), ('hypertension_red')) v(list_name)
        WHERE hash(person_id) % 20 = 0""")
    con.execute("""CREATE TABLE marts.target_list_summary AS
        SELECT list_name, neighbourhood, practice_code, count(*) AS list_size,
               count(*) FILTER (WHERE new_since_last_refresh) AS new_since_last, 0 AS left_since_last
        FROM marts.target_lists GROUP BY ALL""")
    con.execute("""CREATE TABLE marts.core20plus5_indicators AS SELECT indicator_id, geography_level, geography_code,
        breakdown, breakdown_value, CAST(numerator AS BIGINT) AS numerator, CAST(denominator AS BIGINT) AS denominator,
        CAST(value AS DOUBLE) AS value, suppressed, value_unit FROM (VALUES
        ('smi_health_check', 'icb', 'QUE', 'all', 'All', 60, 100, 60.0, false, 'percent'),
        ('smi_health_check', 'icb', 'QUE', 'core20', 'Core20', NULL, NULL, NULL, true, 'percent'),
        ('copd_emergency_admissions', 'icb', 'QUE', 'all', 'All', 150, 500, 300.0, false, 'per_1000'))
        v(indicator_id, geography_level, geography_code, breakdown, breakdown_value, numerator, denominator,
          value, suppressed, value_unit)""")


BREAKAGES = {
    "target_lists_one_row_per_person_per_list": (
        "INSERT INTO marts.target_lists SELECT * FROM marts.target_lists LIMIT 3",
        3,
    ),
    "target_lists_reasons_and_action": (
        "UPDATE marts.target_lists SET reasons = ' ' WHERE person_id IN (SELECT person_id FROM marts.target_lists "
        "WHERE list_name = 'hypertension_red' LIMIT 1) AND list_name = 'hypertension_red'",
        1,
    ),
    "target_lists_own_neighbourhood": (
        "UPDATE marts.target_lists SET neighbourhood = 'Elsewhere' WHERE list_name = 'your_healthier_futures' "
        "AND person_id IN (SELECT person_id FROM marts.target_lists LIMIT 2)",
        2,
    ),
    "target_lists_size_share": (  # 30% of the registered population on one list (max 25%)
        f"INSERT INTO marts.target_lists SELECT 'waiting_well', neighbourhood, practice_code, person_id, 1, 'r', "
        f"'a', true FROM marts.person LIMIT {int(PEOPLE * 0.3)}",
        1,
    ),
    "target_list_summary_one_row_per_list_practice": (
        "INSERT INTO marts.target_list_summary SELECT * FROM marts.target_list_summary LIMIT 1",
        1,
    ),
    "target_list_summary_new_within_size": (
        "UPDATE marts.target_list_summary SET new_since_last = list_size + 1 WHERE practice_code = 'D81001'",
        2,
    ),
    "pathway_status_one_row_per_person_per_pathway": (
        "INSERT INTO marts.pathway_status SELECT * FROM marts.pathway_status LIMIT 4",
        4,
    ),
    "pathway_status_rag_allowed": ("UPDATE marts.pathway_status SET rag = 'Blue' WHERE person_id = 'p7'", 2),
    "pathway_status_reasons_and_next_action": (
        "UPDATE marts.pathway_status SET next_action = NULL WHERE person_id = 'p7' AND pathway = 'diabetes'",
        1,
    ),
    "person_risk_one_row_per_person": (
        "INSERT INTO marts.person_risk SELECT * FROM marts.person_risk WHERE risk_tier = 'Low' LIMIT 1",
        1,
    ),
    "person_risk_covers_registered_population": (
        "DELETE FROM marts.person_risk WHERE person_id IN ('p1900', 'p1901')",
        2,
    ),
    "person_risk_tier_allowed": ("UPDATE marts.person_risk SET risk_tier = 'very high' WHERE risk_rank = 1", 1),
    # 2.0% Very high (target 1% +/- 0.5) and 3.0% High (target 4%): two tiers out of bounds.
    "person_risk_tier_shares": ("UPDATE marts.person_risk SET risk_tier = 'Very high' WHERE risk_rank <= 40", 2),
    "reversible_risk_one_row_per_person": (
        "INSERT INTO marts.reversible_risk SELECT * FROM marts.reversible_risk LIMIT 1",
        1,
    ),
    "reversible_risk_factor_count": (
        "UPDATE marts.reversible_risk SET current_smoker = NOT current_smoker WHERE person_id IN ('p1', 'p2', 'p3')",
        3,
    ),
    "reversible_risk_tier_allowed": ("UPDATE marts.reversible_risk SET risk_tier = NULL WHERE person_id = 'p5'", 1),
    "core20plus5_indicators_percent_bounds": (
        "UPDATE marts.core20plus5_indicators SET value = 100.5 WHERE value_unit = 'percent' AND NOT suppressed",
        1,
    ),
    "core20plus5_indicators_per_1000_bounds": (
        "UPDATE marts.core20plus5_indicators SET value = 1000.5 WHERE value_unit = 'per_1000'",
        1,
    ),
    "core20plus5_indicators_numerator_within_denominator": (
        "UPDATE marts.core20plus5_indicators SET numerator = 101 WHERE value_unit = 'percent' AND NOT suppressed",
        1,
    ),
}
