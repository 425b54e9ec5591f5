-- Published: the target patient lists (clinical spec, "Target patient lists"), one row per person per list, for the
-- neighbourhood of the person's own practice only. priority_rank is 1..n within list and neighbourhood (the list's
-- own order, int_lists__members; ties by person_id, so a rebuild ranks identically). new_since_last_refresh is true
-- for people who were not on that list in the previously published warehouse (everyone, on a first refresh);
-- people who have left a list are counted in marts.target_list_summary.
-- Tagged: it reads the previous publication, which changes every refresh, so an incremental refresh always
-- rebuilds it (assets/incremental.py).
{{ config(tags=['previous_publication']) }}

with members as (
    select * from {{ ref('int_lists__members') }}
),

population as (
    select person_id, practice_code, neighbourhood, age_band, ethnicity_group, has_type1_opt_out
    from {{ ref('int_person__registered_population') }}
),

previous as (
    {{ previous_target_list_members() }}
),

previous_members as (
    select distinct list_name, person_id from previous
)

select
    members.list_name,
    population.neighbourhood,
    population.practice_code,
    members.person_id,
    cast(row_number() over (
        partition by members.list_name, population.neighbourhood
        order by members.sort_key_1 desc, members.sort_key_2 desc, members.sort_key_3 desc, members.person_id asc
    ) as {{ dbt.type_bigint() }}) as priority_rank,  -- bigint on every engine (Spark's row_number is an int)
    members.reasons,
    members.recommended_action,
    previous_members.person_id is null as new_since_last_refresh,
    -- Extras beyond the contract: what a lead filters by.
    risk.risk_tier,
    risk.risk_score,
    pathways.rag,
    flags.is_core20,
    population.ethnicity_group,
    population.age_band,
    population.has_type1_opt_out as type1_opt_out,
    {{ reference_date() }} as reference_date
from members
inner join population
    on members.person_id = population.person_id
left join previous_members
    on members.list_name = previous_members.list_name
    and members.person_id = previous_members.person_id
left join {{ ref('int_risk__scores') }} as risk
    on members.person_id = risk.person_id
left join {{ ref('target_list_definitions') }} as definitions
    on members.list_name = definitions.list_name
left join {{ ref('pathway_status') }} as pathways
    on definitions.source_id = pathways.pathway
    and members.person_id = pathways.person_id
left join {{ ref('int_indicators__person_flags') }} as flags
    on members.person_id = flags.person_id
