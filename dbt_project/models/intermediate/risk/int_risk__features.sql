-- The inputs of the risk of unplanned care score (clinical spec, "Risk of unplanned care and risk tiers") in long
-- form, one row per registered person x feature present: the person's age band, each register (frailty severity
-- is a register), emergency admissions, A&E attendances and bed-days in the last 12 months (counts), polypharmacy
-- and an open social care package. Feature ids match seeds/risk_weights.csv (`age_band:<band>`,
-- `register:<register>`, or the count / flag name); a feature with no weight row scores nothing and fails the
-- seed's coverage test.
with population as (
    select person_id, age_band
    from {{ ref('int_person__registered_population') }}
),

utilisation as (
    select
        person_id,
        emergency_admissions_12m,
        ae_attendances_12m,
        bed_days_12m,
        open_social_care_services
    from {{ ref('int_activity__utilisation_12m') }}
    where is_registered
),

medication as (
    select person_id, is_polypharmacy
    from {{ ref('int_clinical__medication_exposure') }}
)

select
    person_id,
    {{ dbt.concat(["'age_band:'", 'age_band']) }} as feature,
    cast(1 as {{ dbt.type_float() }}) as feature_value
from population
where age_band is not null

union all

select
    registers.person_id,
    {{ dbt.concat(["'register:'", 'registers.register']) }} as feature,
    cast(1 as {{ dbt.type_float() }}) as feature_value
from {{ ref('int_clinical__registers') }} as registers

union all

{% for count_feature in ['emergency_admissions_12m', 'ae_attendances_12m', 'bed_days_12m'] -%}
select
    person_id,
    '{{ count_feature }}' as feature,
    cast({{ count_feature }} as {{ dbt.type_float() }}) as feature_value
from utilisation
where {{ count_feature }} > 0

union all

{% endfor -%}
select
    person_id,
    'polypharmacy' as feature,
    cast(1 as {{ dbt.type_float() }}) as feature_value
from medication
where is_polypharmacy

union all

select
    person_id,
    'social_care_package' as feature,
    cast(1 as {{ dbt.type_float() }}) as feature_value
from utilisation
where open_social_care_services > 0
