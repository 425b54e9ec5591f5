-- Published: risk of unplanned care per registered person, all ages (clinical spec, "Risk of unplanned care and
-- risk tiers"): the points score (weights in seeds/risk_weights.csv), its rank (1 = highest; ties broken by
-- person_id), its tier (Very high top 1%, High next 4%, Medium next 15%, Low the rest, by rank within the registered
-- population) and the features that made it. marts.reversible_risk carries the same score and tier for adults;
-- segments and the demand model aggregate from this table. meta.risk_validation says how well the score ranked
-- the following year's emergency admissions.
select
    scores.person_id,
    population.practice_code,
    population.neighbourhood,
    population.age,
    population.age_band,
    scores.risk_score,
    scores.risk_rank,
    scores.risk_tier,
    scores.risk_tier_order,
    scores.score_breakdown,
    population.has_type1_opt_out as type1_opt_out,
    {{ reference_date() }} as reference_date
from {{ ref('int_risk__scores') }} as scores
inner join {{ ref('int_person__registered_population') }} as population
    on scores.person_id = population.person_id
