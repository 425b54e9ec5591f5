{{ config(tags=['risk_validation']) }}
{%- if execute and flags.WHICH in ('run', 'build') and not var('model_schema_suffix', '') %}
    {{ exceptions.raise_compiler_error("risk_validation runs only inside the prior-year rebuild (assets/risk_validation.py), where ref() reads the *_prior schemas") }}
{%- endif %}
-- How well the risk score ranks who will need unplanned care (clinical spec: "The refresh reports how well last
-- year's score ranked this year's emergency admissions"). Runs inside the prior-year rebuild: reference_date() is a
-- year before this run's, and ref() reads the rebuilt *_prior tables, so the population and scores are as they stood
-- then; the outcome is what happened in the following 12 months, this run's int_activity__utilisation_12m (source
-- current_run); people who have since died or moved away keep their outcome. Three scores are judged alike:
--   * risk_score: the points score (seeds/risk_weights.csv);
--   * age: age alone (a naive baseline);
--   * admitted_last_year: emergency admissions in the 12 months before the prior date (the other naive baseline).
-- Measures per score: AUC for "any emergency admission" (Mann-Whitney, ties scored one half through average
-- ranks), and the share of all emergency admissions and of all emergency bed-days that fall in the top 5%
-- (risk_tier_high_pct) by that score (ties at the cut broken by person_id). One row per score; the refresh stores
-- them as one row per run in meta.risk_validation.
with prior_population as (
    select person_id, age, risk_score
    from {{ ref('person_risk') }}
),

prior_activity as (
    select person_id, emergency_admissions_12m
    from {{ ref('int_activity__utilisation_12m') }}
),

outcomes as (
    select person_id, emergency_admissions_12m, emergency_bed_days_12m
    from {{ source('current_run', 'int_activity__utilisation_12m') }}
),

people as (
    select
        prior_population.person_id,
        cast(prior_population.risk_score as {{ dbt.type_float() }}) as risk_score,
        cast(prior_population.age as {{ dbt.type_float() }}) as age,
        cast(coalesce(prior_activity.emergency_admissions_12m, 0) as {{ dbt.type_float() }}) as admitted_last_year,
        coalesce(outcomes.emergency_admissions_12m, 0) as outcome_admissions,
        coalesce(outcomes.emergency_bed_days_12m, 0) as outcome_bed_days
    from prior_population
    left join prior_activity
        on prior_population.person_id = prior_activity.person_id
    left join outcomes
        on prior_population.person_id = outcomes.person_id
),

scores as (
    {%- for score in ['risk_score', 'age', 'admitted_last_year'] %}
    select
        person_id,
        '{{ score }}' as score_name,
        {{ score }} as score,
        outcome_admissions,
        outcome_bed_days
    from people
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

ranked as (
    select
        scores.*,
        -- Average rank of tied scores (1 = lowest), for the Mann-Whitney AUC.
        rank() over (partition by score_name order by score)
            + (count(*) over (partition by score_name, score) - 1) / 2.0 as average_rank,
        row_number() over (partition by score_name order by score desc, person_id asc) as position,
        count(*) over (partition by score_name) as population_size
    from scores
),

summary as (
    select
        score_name,
        max(population_size) as population_size,
        sum(case when outcome_admissions > 0 then 1 else 0 end) as people_admitted,
        sum(case when outcome_admissions > 0 then average_rank else 0 end) as admitted_rank_sum,
        sum(outcome_admissions) as emergency_admissions,
        sum(outcome_bed_days) as emergency_bed_days,
        sum(case when position * 100.0 <= population_size * {{ threshold('risk_tier_high_pct') }}
                 then outcome_admissions else 0 end) as top_admissions,
        sum(case when position * 100.0 <= population_size * {{ threshold('risk_tier_high_pct') }}
                 then outcome_bed_days else 0 end) as top_bed_days
    from ranked
    group by score_name
)

select
    score_name,
    population_size,
    people_admitted,
    emergency_admissions,
    emergency_bed_days,
    -- Ratios in double precision: Spark divides decimals (2.0, 1.0) to 6 decimal places, DuckDB gives a double.
    case when people_admitted > 0 and people_admitted < population_size
         then cast(admitted_rank_sum - people_admitted * (people_admitted + 1) / 2.0 as double)
              / cast(people_admitted * 1.0 * (population_size - people_admitted) as double)
    end as auc_any_emergency_admission,
    case when emergency_admissions > 0 then cast(top_admissions * 1.0 as double) / emergency_admissions end
        as top5_share_emergency_admissions,
    case when emergency_bed_days > 0 then cast(top_bed_days * 1.0 as double) / emergency_bed_days end
        as top5_share_emergency_bed_days,
    {{ threshold('risk_tier_high_pct') }} as top_percent,
    {{ reference_date() }} as prior_reference_date
from summary
