-- GP prescriptions issued. nhs_number is replaced by person_id (null = not linkable) and dropped here.
with source as (
    select * from {{ source('raw', 'gp_medications') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.practice_code as {{ dbt.type_string() }}) as practice_code,
    cast(source.issue_date as date) as issue_date,
    cast(source.dmd_code as {{ dbt.type_string() }}) as dmd_code,
    cast(source.quantity as double) as quantity
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
