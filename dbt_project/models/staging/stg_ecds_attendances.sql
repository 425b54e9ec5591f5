-- ECDS A&E attendances. nhs_number is replaced by person_id (null = untraced) and dropped here.
with source as (
    select * from {{ source('raw', 'ecds_attendances') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.attendance_id as {{ dbt.type_string() }}) as attendance_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.provider_code as {{ dbt.type_string() }}) as provider_code,
    cast(source.arrival_datetime as timestamp) as arrival_datetime,
    -- Every date window in the spec is by day; one cast here saves each consumer doing it.
    cast(source.arrival_datetime as date) as arrival_date,
    cast(source.departure_datetime as timestamp) as departure_datetime,
    cast(source.arrival_mode as {{ dbt.type_string() }}) as arrival_mode_code,
    cast(source.acuity as {{ dbt.type_int() }}) as acuity,
    cast(source.diagnosis_snomed as {{ dbt.type_string() }}) as diagnosis_snomed_code,
    cast(source.admitted as boolean) as is_admitted
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
