-- Community services care contacts. nhs_number is replaced by person_id (null = untraced) and dropped here.
with source as (
    select * from {{ source('raw', 'csds_contacts') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.contact_id as {{ dbt.type_string() }}) as contact_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.provider_code as {{ dbt.type_string() }}) as provider_code,
    cast(source.contact_date as date) as contact_date,
    cast(source.team_type as {{ dbt.type_string() }}) as team_type,
    cast(source.attendance_status as {{ dbt.type_string() }}) as attendance_status_code,
    cast(source.duration_minutes as {{ dbt.type_int() }}) as duration_minutes
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
