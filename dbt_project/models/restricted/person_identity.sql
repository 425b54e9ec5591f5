-- The only published place an NHS number appears: re-identification for exporting a direct-care list.
-- Never joined into an aggregate.
with registered as (
    select person_id, practice_code from {{ ref('int_person__registered_population') }}
),

identities as (
    select distinct person_id, nhs_number
    from {{ ref('stg_gp_patients') }}
    where is_linked
)

select
    registered.person_id,
    identities.nhs_number,
    registered.practice_code
from registered
inner join identities
    on registered.person_id = identities.person_id
