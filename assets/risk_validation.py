"""Risk validation: score the population as it stood a year before the reference date and judge the score against
what happened in the following 12 months (clinical spec, "Risk of unplanned care and risk tiers").

The prior-year score is the same dbt models rebuilt with `reference_date` one year earlier, into schemas suffixed
`_prior` (macro generate_schema_name) of the same build file, reusing this run's seeds, staging views and
reference-date-free models (the concept codes). The dbt model `risk_validation` runs in the same invocation and
compares it with this run's 12-month utilisation. This module holds the dbt arguments and stores the result as one
row per refresh in meta.risk_validation.
"""

from __future__ import annotations

import json
from datetime import date

import duckdb

PRIOR_SCHEMA_SUFFIX = "_prior"
SCORES = ("risk_score", "age", "admitted_last_year")
RISK_MART = "person_risk"
VALIDATION_SELECTOR = "tag:risk_validation"
# Models built from seeds only: the rebuild reuses this run's tables (dbt_project.yml, generate_schema_name).
REFERENCE_DATE_FREE_SELECTOR = "tag:reference_date_free"


def prior_reference_date(reference_date: date) -> date:
    """The same day a year earlier (29 February -> 28 February)."""
    try:
        return reference_date.replace(year=reference_date.year - 1)
    except ValueError:
        return reference_date.replace(year=reference_date.year - 1, day=28)


def prior_rebuild_vars(reference_date: date) -> dict[str, str]:
    """dbt vars of the rebuild as of a year earlier, into schemas suffixed _prior."""
    return {
        "reference_date": prior_reference_date(reference_date).isoformat(),
        "model_schema_suffix": PRIOR_SCHEMA_SUFFIX,
    }


def prior_rebuild_args(dbt_vars: dict[str, str]) -> list[str]:
    """dbt arguments that rebuild the risk score and its inputs as of a year earlier, beside this run's tables."""
    return [
        "run",
        "--select",
        f"+{RISK_MART} {VALIDATION_SELECTOR}",
        "--exclude",
        f"resource_type:seed path:models/staging {REFERENCE_DATE_FREE_SELECTOR}",
        "--vars",
        json.dumps(dbt_vars),
    ]


def record_risk_validation(con: duckdb.DuckDBPyConnection, run_id: str, reference_date: date) -> dict:
    """Pivot validation.risk_validation (one row per score) into meta.risk_validation's one row for this run."""
    columns = []
    for score in SCORES:
        columns += [
            f"max(CASE WHEN score_name = '{score}' THEN auc_any_emergency_admission END) AS auc_{score}",
            f"max(CASE WHEN score_name = '{score}' THEN top5_share_emergency_admissions END)"
            f" AS top5_admissions_share_{score}",
            f"max(CASE WHEN score_name = '{score}' THEN top5_share_emergency_bed_days END)"
            f" AS top5_bed_days_share_{score}",
        ]
    con.execute("DELETE FROM meta.risk_validation WHERE run_id = ?", [run_id])
    con.execute(
        f"""
        INSERT INTO meta.risk_validation BY NAME
        SELECT ? AS run_id, ? AS reference_date, max(prior_reference_date) AS prior_reference_date,
               max(population_size) AS population_size, max(people_admitted) AS people_admitted,
               max(emergency_admissions) AS emergency_admissions, max(emergency_bed_days) AS emergency_bed_days,
               max(top_percent) AS top_percent, {", ".join(columns)}
        FROM validation.risk_validation""",
        [run_id, reference_date],
    )
    cursor = con.execute("SELECT * FROM meta.risk_validation WHERE run_id = ?", [run_id])
    names = [d[0] for d in cursor.description]
    row = dict(zip(names, cursor.fetchall()[0], strict=False))
    if row["population_size"] is None:
        raise ValueError("risk validation produced no rows (validation.risk_validation is empty)")
    return row


def describe(row: dict) -> str:
    """One line for the refresh summary; says plainly when the score does not beat the baselines."""

    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.0%}"

    def auc(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.3f}"

    verdict = ""
    if row["auc_risk_score"] is not None and row["auc_admitted_last_year"] is not None:
        if row["auc_risk_score"] <= row["auc_admitted_last_year"]:
            verdict = " -- the score does NOT beat 'admitted last year': review seeds/risk_weights.csv"
        elif row["auc_age"] is not None and row["auc_risk_score"] <= row["auc_age"]:
            verdict = " -- the score does NOT beat age alone: review seeds/risk_weights.csv"
    return (
        f"risk score as of {row['prior_reference_date']} vs emergency admissions in the next 12 months "
        f"({row['people_admitted']:,} of {row['population_size']:,} people admitted): "
        f"AUC {auc(row['auc_risk_score'])} (age alone {auc(row['auc_age'])}, admitted last year "
        f"{auc(row['auc_admitted_last_year'])}); top {row['top_percent']:g}% hold "
        f"{pct(row['top5_admissions_share_risk_score'])} of admissions "
        f"(age {pct(row['top5_admissions_share_age'])}, admitted last year "
        f"{pct(row['top5_admissions_share_admitted_last_year'])}) and "
        f"{pct(row['top5_bed_days_share_risk_score'])} of bed-days{verdict}"
    )
