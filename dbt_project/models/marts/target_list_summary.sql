-- Published: the movement of every target list since the previously published refresh, per list x neighbourhood x
-- practice: list_size (people on it now), new_since_last (on it now, not last time) and left_since_last (on it last
-- time, not now; counted at the practice they were listed under then). On a first refresh everything is new and
-- nothing has left. Patient counts for direct care of the practice's own patients: not disclosure-controlled.
-- Tagged: it reads the previous publication, which changes every refresh, so an incremental refresh always
-- rebuilds it (assets/incremental.py).
{{ config(tags=['previous_publication']) }}

with current_members as (
    select list_name, neighbourhood, practice_code, person_id, new_since_last_refresh
    from {{ ref('target_lists') }}
),

previous as (
    {{ previous_target_list_members() }}
),

left_members as (
    select previous.list_name, previous.neighbourhood, previous.practice_code, previous.person_id
    from previous
    left join current_members
        on previous.list_name = current_members.list_name
        and previous.person_id = current_members.person_id
    where current_members.person_id is null
),

current_counts as (
    select
        list_name,
        neighbourhood,
        practice_code,
        count(*) as list_size,
        cast(sum(case when new_since_last_refresh then 1 else 0 end) as {{ dbt.type_bigint() }}) as new_since_last
    from current_members
    group by list_name, neighbourhood, practice_code
),

left_counts as (
    select list_name, neighbourhood, practice_code, count(*) as left_since_last
    from left_members
    group by list_name, neighbourhood, practice_code
),

keys as (
    select list_name, neighbourhood, practice_code from current_counts
    union
    select list_name, neighbourhood, practice_code from left_counts
)

select
    keys.list_name,
    keys.neighbourhood,
    keys.practice_code,
    coalesce(current_counts.list_size, 0) as list_size,
    coalesce(current_counts.new_since_last, 0) as new_since_last,
    coalesce(left_counts.left_since_last, 0) as left_since_last,
    {{ reference_date() }} as reference_date
from keys
left join current_counts
    on keys.list_name = current_counts.list_name
    and keys.neighbourhood = current_counts.neighbourhood
    and keys.practice_code = current_counts.practice_code
left join left_counts
    on keys.list_name = left_counts.list_name
    and keys.neighbourhood = left_counts.neighbourhood
    and keys.practice_code = left_counts.practice_code
