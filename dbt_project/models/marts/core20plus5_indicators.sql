-- Published: every Core20PLUS5 indicator by geography (practice, PCN, neighbourhood, place, ICB) and breakdown
-- (all, IMD quintile, ethnicity group, sex, age band, Core20 vs rest), under disclosure control. One generic
-- aggregation of int_indicators__person_long, driven by indicator_definitions (value unit, ambitions):
--   * Type 1 opt-outs are excluded (from numerators and denominators alike).
--   * Counts: denominator = sum of denominator_count (people, or staged tumours), numerator = sum of
--     numerator_count (people, spells or early-stage tumours).
--   * One GROUPING SETS aggregation: every geography level x every breakdown (30 sets), labelled with grouping().
--     Unknown breakdown values are published as 'Unknown' (IMD quintile of an unknown LSOA); core20 is
--     'Core20' / 'Rest' (an unknown LSOA is in Rest). A group with nobody in the denominator has no row.
--   * Disclosure control (macros/disclosure): a numerator or denominator of 1-7 suppresses the row (counts and
--     value null, suppressed true); published counts are rounded to the nearest 5; value is computed from the
--     ROUNDED counts (percent x 100, per_1000 x indicator_rate_per), so it cannot be used to recover them.
--   * Secondary suppression: where one cell of a breakdown (the IMD quintiles of one practice, say) is suppressed,
--     its smallest other cell is suppressed too, so that the total minus the others cannot give it away.
{%- set geographies = [('practice', 'practice_code'), ('pcn', 'pcn_code'), ('neighbourhood', 'neighbourhood'),
                       ('place', 'place'), ('icb', 'icb_code')] %}
{%- set breakdowns = [('imd_quintile', 'imd_quintile_value'), ('ethnicity_group', 'ethnicity_group'),
                      ('sex', 'sex'), ('age_band', 'age_band'), ('core20', 'core20_value')] %}
with disclosure_rules as (
    select
        {{ threshold_int('sdc_suppress_min') }} as suppress_min,
        {{ threshold_int('sdc_suppress_max') }} as suppress_max,
        {{ threshold_int('sdc_rounding_base') }} as rounding_base,
        {{ threshold('indicator_rate_per') }} as rate_per
),

population as (
    select
        population.person_id,
        population.practice_code,
        population.pcn_code,
        population.neighbourhood,
        population.place,
        cast('{{ var("icb_code", "QUE") }}' as {{ dbt.type_string() }}) as icb_code,
        coalesce(cast(population.imd_quintile as {{ dbt.type_string() }}), 'Unknown') as imd_quintile_value,
        population.ethnicity_group,
        population.sex,
        population.age_band,
        case when flags.is_core20 then 'Core20' else 'Rest' end as core20_value
    from {{ ref('int_person__registered_population') }} as population
    inner join {{ ref('int_indicators__person_flags') }} as flags
        on population.person_id = flags.person_id
    where not population.has_type1_opt_out
),

counts as (
    select
        long.indicator_id,
        long.denominator_count,
        long.numerator_count,
        population.*
    from {{ ref('int_indicators__person_long') }} as long
    inner join population
        on long.person_id = population.person_id
),

aggregated as (
    select
        indicator_id,
        case
            {%- for level, column in geographies %}
            when grouping({{ column }}) = 0 then '{{ level }}'
            {%- endfor %}
        end as geography_level,
        case
            {%- for level, column in geographies %}
            when grouping({{ column }}) = 0 then {{ column }}
            {%- endfor %}
        end as geography_code,
        case
            {%- for breakdown, column in breakdowns %}
            when grouping({{ column }}) = 0 then '{{ breakdown }}'
            {%- endfor %}
            else 'all'
        end as breakdown,
        case
            {%- for breakdown, column in breakdowns %}
            when grouping({{ column }}) = 0 then {{ column }}
            {%- endfor %}
            else 'All'
        end as breakdown_value,
        sum(numerator_count) as numerator_count,
        sum(denominator_count) as denominator_count
    from counts
    -- sqlfluff's DuckDB dialect does not parse GROUPING SETS yet: its parse error is ignored on the next line
    group by grouping sets (  -- noqa: PRS
        {%- for level, geography_column in geographies %}
        (indicator_id, {{ geography_column }}),
        {%- set outer_last = loop.last %}
        {%- for breakdown, breakdown_column in breakdowns %}
        (indicator_id, {{ geography_column }}, {{ breakdown_column }}){{ ',' if not (outer_last and loop.last) }}
        {%- endfor %}
        {%- endfor %}
    )
),

primary_suppression as (
    select
        aggregated.*,
        {{ sdc_is_suppressed(['aggregated.numerator_count', 'aggregated.denominator_count'],
                             'disclosure_rules.suppress_min', 'disclosure_rules.suppress_max') }} as is_primary,
        disclosure_rules.rounding_base,
        disclosure_rules.rate_per
    from aggregated
    cross join disclosure_rules
),

disclosed as (
    select
        primary_suppression.*,
        {{ sdc_is_secondary('primary_suppression.is_primary',
                            ['primary_suppression.indicator_id', 'primary_suppression.geography_level',
                             'primary_suppression.geography_code', 'primary_suppression.breakdown'],
                            "primary_suppression.breakdown <> 'all'",
                            ['primary_suppression.denominator_count', 'primary_suppression.numerator_count',
                             'primary_suppression.breakdown_value']) }} as is_secondary
    from primary_suppression
),

published as (
    select
        disclosed.indicator_id,
        disclosed.geography_level,
        disclosed.geography_code,
        disclosed.breakdown,
        disclosed.breakdown_value,
        {{ sdc_publish_count('disclosed.numerator_count', 'disclosed.is_primary or disclosed.is_secondary', 'disclosed.rounding_base') }} as numerator,
        {{ sdc_publish_count('disclosed.denominator_count', 'disclosed.is_primary or disclosed.is_secondary', 'disclosed.rounding_base') }} as denominator,
        disclosed.is_primary or disclosed.is_secondary as suppressed,
        disclosed.rate_per
    from disclosed
)

select
    published.indicator_id,
    published.geography_level,
    published.geography_code,
    published.breakdown,
    published.breakdown_value,
    published.numerator,
    published.denominator,
    {{ sdc_value('published.numerator', 'published.denominator',
                 "case definitions.value_unit when 'per_1000' then published.rate_per else 100 end") }} as value,
    published.suppressed,
    -- Extras beyond the contract: indicator metadata for display.
    definitions.value_unit,
    definitions.counting_unit,
    definitions.domain,
    definitions.national_ambition,
    definitions.local_target,
    definitions.local_target_date,
    -- Which way is better, and the national definition followed (CVDP007HYP ...): readers must not assume higher.
    definitions.direction,
    definitions.national_definition_id,
    {{ reference_date() }} as reference_date
from published
inner join {{ ref('indicator_definitions') }} as definitions
    on published.indicator_id = definitions.indicator_id
