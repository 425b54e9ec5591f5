-- Adult social care service episodes. nhs_number is often missing here: such rows stay, unlinked, so they are counted.
with source as (
    select * from {{ source('raw', 'asc_services') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.service_id as {{ dbt.type_string() }}) as service_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.la_code as {{ dbt.type_string() }}) as la_code,
    cast(source.service_type as {{ dbt.type_string() }}) as service_type,
    cast(source.service_start_date as date) as service_start_date,
    cast(source.service_end_date as date) as service_end_date,
    cast(source.primary_support_reason as {{ dbt.type_string() }}) as primary_support_reason,
    cast(source.weekly_cost_gbp as double) as weekly_cost_gbp,
    cast(source.still_at_home_91_days as boolean) as is_still_at_home_91_days
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
