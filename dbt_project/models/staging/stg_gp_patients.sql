-- Registration episodes as extracted. The only staging model that keeps nhs_number: the restricted
-- identity table (direct-care list export) is built from it; everything else uses person_id.
with source as (
    select * from {{ source('raw', 'gp_patients') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.nhs_number as {{ dbt.type_string() }}) as nhs_number,
    cast(source.practice_code as {{ dbt.type_string() }}) as practice_code,
    cast(source.date_of_birth as date) as date_of_birth,
    cast(source.sex as {{ dbt.type_string() }}) as sex_code,
    cast(source.ethnic_category as {{ dbt.type_string() }}) as ethnic_category,
    cast(source.lsoa_code as {{ dbt.type_string() }}) as lsoa_code,
    cast(source.registration_start_date as date) as registration_start_date,
    cast(source.registration_end_date as date) as registration_end_date,
    cast(source.date_of_death as date) as date_of_death,
    cast(source.type1_opt_out as boolean) as has_type1_opt_out
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
