-- Published: the five Better Care Fund metrics (bcf_metric_definitions) per upper-tier local authority of residence
-- (E10000003 Cambridgeshire, E06000031 Peterborough) and reporting period: the rolling 12 months to the reference
-- date and the previous bcf_previous_periods 12-month periods (int_indicators__bcf_periods), for a trend.
--   * Numerators: the units of int_indicators__bcf_units (spells, episodes, people) flagged is_numerator.
--   * Denominators: per_100000 metrics: the registered population resident in the LA at the period end
--     (int_indicators__bcf_population), aged min_age_rule_id+ where the metric has an age rule - a REGISTERED
--     population, not the ONS mid-year estimate used nationally, and crude (not age-standardised) rates;
--     percent metrics: the counted units (is_denominator_unit).
--   * Every metric x LA x period with a denominator population gets a row, zero counts included.
--   * Type 1 opt-outs are excluded throughout. Disclosure control as core20plus5_indicators: a numerator or
--     denominator of 1-7 suppresses the row; counts are rounded to the nearest 5; value from the rounded counts
--     (x bcf_rate_per for per_100000, x 100 for percent).
with disclosure_rules as (
    select
        {{ threshold_int('sdc_suppress_min') }} as suppress_min,
        {{ threshold_int('sdc_suppress_max') }} as suppress_max,
        {{ threshold_int('sdc_rounding_base') }} as rounding_base,
        {{ threshold('bcf_rate_per') }} as rate_per
),

definitions as (
    select
        definitions.*,
        thresholds.value as min_age
    from {{ ref('bcf_metric_definitions') }} as definitions
    left join {{ ref('thresholds') }} as thresholds
        on definitions.min_age_rule_id = thresholds.rule_id
),

periods as (
    select * from {{ ref('int_indicators__bcf_periods') }}
),

population as (
    select * from {{ ref('int_indicators__bcf_population') }}
),

-- Every metric x local authority x period (local authorities: those with a registered population in any period).
frame as (
    select
        definitions.metric_id,
        local_authorities.la_code,
        periods.period,
        periods.period_start,
        periods.period_end,
        periods.period_offset_years
    from definitions
    cross join (select distinct la_code from population) as local_authorities
    cross join periods
),

population_denominators as (
    select
        definitions.metric_id,
        population.la_code,
        population.period,
        sum(population.registered_persons) as persons
    from definitions
    inner join population
        on definitions.min_age is null or population.age >= definitions.min_age
    where definitions.denominator_basis = 'registered_population'
    group by definitions.metric_id, population.la_code, population.period
),

unit_counts as (
    select
        metric_id,
        la_code,
        period,
        sum(case when is_numerator then 1 else 0 end) as numerator_units,
        sum(case when is_denominator_unit then 1 else 0 end) as denominator_units
    from {{ ref('int_indicators__bcf_units') }}
    group by metric_id, la_code, period
),

counted as (
    select
        frame.*,
        coalesce(unit_counts.numerator_units, 0) as numerator_count,
        case
            when definitions.denominator_basis = 'registered_population' then coalesce(population_denominators.persons, 0)
            else coalesce(unit_counts.denominator_units, 0)
        end as denominator_count,
        definitions.unit,
        definitions.name
    from frame
    inner join definitions
        on frame.metric_id = definitions.metric_id
    left join unit_counts
        on frame.metric_id = unit_counts.metric_id
        and frame.la_code = unit_counts.la_code
        and frame.period = unit_counts.period
    left join population_denominators
        on frame.metric_id = population_denominators.metric_id
        and frame.la_code = population_denominators.la_code
        and frame.period = population_denominators.period
),

disclosed as (
    select
        counted.*,
        {{ sdc_is_suppressed(['counted.numerator_count', 'counted.denominator_count'],
                             'disclosure_rules.suppress_min', 'disclosure_rules.suppress_max') }} as suppressed,
        disclosure_rules.rounding_base,
        disclosure_rules.rate_per
    from counted
    cross join disclosure_rules
),

published as (
    select
        disclosed.*,
        {{ sdc_publish_count('disclosed.numerator_count', 'disclosed.suppressed', 'disclosed.rounding_base') }} as numerator,
        {{ sdc_publish_count('disclosed.denominator_count', 'disclosed.suppressed', 'disclosed.rounding_base') }} as denominator
    from disclosed
)

select
    metric_id,
    la_code,
    period,
    numerator,
    denominator,
    {{ sdc_value('numerator', 'denominator', "case unit when 'per_100000' then rate_per else 100 end") }} as value,
    suppressed,
    -- Extras beyond the contract.
    name as metric_name,
    unit,
    period_start,
    period_end,
    period_offset_years,
    case la_code when 'E06000031' then 'Peterborough' when 'E10000003' then 'Cambridgeshire' end as la_name,
    {{ reference_date() }} as reference_date
from published
