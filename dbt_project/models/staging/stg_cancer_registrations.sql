-- Rapid cancer registrations, one row per tumour. nhs_number is replaced by person_id and dropped here.
with source as (
    select * from {{ source('raw', 'cancer_registrations') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.tumour_id as {{ dbt.type_string() }}) as tumour_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.diagnosis_date as date) as diagnosis_date,
    cast(source.site_icd10 as {{ dbt.type_string() }}) as site_icd10_code,
    cast(source.stage as {{ dbt.type_string() }}) as stage
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
