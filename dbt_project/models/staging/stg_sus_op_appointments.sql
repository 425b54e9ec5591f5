-- SUS outpatient appointments. nhs_number is replaced by person_id (null = untraced) and dropped here.
with source as (
    select * from {{ source('raw', 'sus_op_appointments') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.appointment_id as {{ dbt.type_string() }}) as appointment_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.provider_code as {{ dbt.type_string() }}) as provider_code,
    cast(source.appointment_date as date) as appointment_date,
    cast(source.treatment_function_code as {{ dbt.type_string() }}) as treatment_function_code,
    cast(source.first_attendance as boolean) as is_first_attendance,
    cast(source.attendance_status as {{ dbt.type_string() }}) as attendance_status_code
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
