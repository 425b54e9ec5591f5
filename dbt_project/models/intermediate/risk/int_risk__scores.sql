-- Risk of unplanned care per registered person (clinical spec): a transparent points score, the sum over the
-- person's features of seeds/risk_weights.csv points (a flag scores its points; a count scores points per unit up
-- to its cap), its rank and its tier.
--   * Rank 1 = highest score; ties are broken by person_id, so the same data always gives the same tiers.
--   * Tiers by rank within the registered population: Very high = ranks in the top risk_tier_very_high_pct (1%),
--     High = up to risk_tier_high_pct (5%), Medium = up to risk_tier_medium_pct (20%), Low = the rest.
--   * score_breakdown lists the contributing features, largest first, so a clinician can see why.
with population as (
    select person_id
    from {{ ref('int_person__registered_population') }}
),

weights as (
    select feature, feature_kind, points, cap
    from {{ ref('risk_weights') }}
),

contributions as (
    select
        features.person_id,
        features.feature,
        features.feature_value,
        case
            when weights.feature_kind = 'count'
                then weights.points * case
                    when weights.cap is not null and features.feature_value > weights.cap then weights.cap
                    else features.feature_value
                end
            else weights.points
        end as points
    from {{ ref('int_risk__features') }} as features
    inner join weights
        on features.feature = weights.feature
),

scored as (
    select
        person_id,
        sum(points) as risk_score,
        {{ dbt.listagg(
            measure=dbt.concat(['feature', "' '", phm.text_number('points', 1)]),
            delimiter_text="'; '",
            order_by_clause='order by points desc, feature') }} as score_breakdown
    from contributions
    where points <> 0
    group by person_id
),

ranked as (
    select
        population.person_id,
        round(coalesce(scored.risk_score, 0), 2) as risk_score,
        scored.score_breakdown,
        -- bigint on every engine (Spark's row_number is an int)
        cast(row_number() over (order by coalesce(scored.risk_score, 0) desc, population.person_id)
            as {{ dbt.type_bigint() }}) as risk_rank,
        count(*) over () as population_size
    from population
    left join scored
        on population.person_id = scored.person_id
)

select
    person_id,
    risk_score,
    risk_rank,
    population_size,
    case
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_very_high_pct') }} then 'Very high'
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_high_pct') }} then 'High'
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_medium_pct') }} then 'Medium'
        else 'Low'
    end as risk_tier,
    case
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_very_high_pct') }} then 1
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_high_pct') }} then 2
        when risk_rank * 100.0 <= population_size * {{ threshold('risk_tier_medium_pct') }} then 3
        else 4
    end as risk_tier_order,
    score_breakdown
from ranked
