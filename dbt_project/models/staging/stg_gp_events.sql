-- Coded GP record. nhs_number is replaced by person_id (null = not linkable) and dropped here.
with source as (
    select * from {{ source('raw', 'gp_events') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.practice_code as {{ dbt.type_string() }}) as practice_code,
    cast(source.event_date as date) as event_date,
    cast(source.snomed_code as {{ dbt.type_string() }}) as snomed_code,
    -- 'value' is a keyword in several dialects; ehrQL calls it numeric_value.
    cast(source.value as double) as numeric_value,
    cast(source.unit as {{ dbt.type_string() }}) as unit
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
