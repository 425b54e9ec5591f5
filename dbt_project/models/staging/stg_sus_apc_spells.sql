-- SUS admitted patient care spells. nhs_number is replaced by person_id (null = untraced) and dropped here.
with source as (
    select * from {{ source('raw', 'sus_apc_spells') }}
),

person_key as (
    select nhs_number, person_id from {{ source('raw', 'person_key') }}
)

select
    cast(source.spell_id as {{ dbt.type_string() }}) as spell_id,
    person_key.person_id,
    person_key.person_id is not null as is_linked,
    cast(source.provider_code as {{ dbt.type_string() }}) as provider_code,
    cast(source.admission_date as date) as admission_date,
    cast(source.discharge_date as date) as discharge_date,
    cast(source.admission_method as {{ dbt.type_string() }}) as admission_method_code,
    cast(source.primary_diagnosis_icd10 as {{ dbt.type_string() }}) as primary_diagnosis_icd10_code,
    -- Still the semicolon-separated list: splitting it is modelling, not staging.
    cast(source.secondary_diagnoses_icd10 as {{ dbt.type_string() }}) as secondary_diagnosis_icd10_codes,
    cast(source.primary_procedure_opcs4 as {{ dbt.type_string() }}) as primary_procedure_opcs4_code,
    cast(source.discharge_destination as {{ dbt.type_string() }}) as discharge_destination_code
from source
left join person_key
    on source.nhs_number = person_key.nhs_number
