-- Open RTT pathways at the extract date. nhs_number is replaced by person_id (null = untraced) and dropped here.
with source as (
    select * from {{ source('raw', 'rtt_waiting_list') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.pathway_id as {{ dbt.type_string() }}) as pathway_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.provider_code as {{ dbt.type_string() }}) as provider_code,
    cast(source.treatment_function_code as {{ dbt.type_string() }}) as treatment_function_code,
    cast(source.clock_start_date as date) as clock_start_date,
    cast(source.priority as {{ dbt.type_string() }}) as priority
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
