-- Type 1 opt-out per linkable person, read ONE way by every mart and aggregate (clinical spec v2, Population): the
-- opt-out status of the person's latest record across all registrations, open or closed. Latest = the latest
-- registration start; ties as the current-practice rule (the still-open episode, then the later end, then
-- practice code), so a rebuild always reads the same record. An opt-out recorded at a practice the person has
-- since left is superseded by the newer record (the national opt-out follows the person to the new practice).
with ranked_registrations as (
    select
        person_id,
        has_type1_opt_out,
        row_number() over (
            partition by person_id
            order by {{ registration_recency_order() }}
        ) as recency_rank
    from {{ ref('int_person__registrations') }}
)

select
    person_id,
    coalesce(has_type1_opt_out, false) as has_type1_opt_out
from ranked_registrations
where recency_rank = 1
