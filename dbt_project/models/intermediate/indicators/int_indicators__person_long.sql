-- The Core20PLUS5 flags of int_indicators__person_flags in long form (Tuva summary_long style): one row per person
-- in an indicator's denominator, with the counts the aggregate sums. Person-counted indicators count 1 in the
-- denominator and 1 / 0 in the numerator; copd_emergency_admissions and cyp_oral_health_extraction count the
-- person once in the denominator and their spells in the numerator; cancer_early_stage counts tumours in both
-- (staged / early-stage tumours). marts.core20plus5_indicators is one generic aggregation of this table.
-- The unit of each indicator must agree with indicator_definitions.counting_unit (a dbt test checks it).
{%- set indicator_ids = [
    'maternity_booking_10wk', 'smi_health_check', 'copd_flu_vaccination', 'copd_emergency_admissions',
    'cancer_early_stage', 'htn_treated_to_target', 'htn_case_finding', 'lipids_on_llt', 'lipids_qrisk20_on_llt',
    'lipids_cvd_on_llt', 'cyp_asthma_reliever_overuse', 'cyp_asthma_no_preventer', 'cyp_diabetes_hba1c_recorded',
    'cyp_epilepsy_specialist_contact', 'cyp_oral_health_extraction', 'cyp_mental_health_contact',
    'ld_health_check'] %}
{#- indicator id -> (counting unit, numerator count expression, denominator count expression) where not per person -#}
{%- set counted = {
    'copd_emergency_admissions': ('spell', 'copd_emergency_admissions_spells', '1'),
    'cyp_oral_health_extraction': ('spell', 'cyp_oral_health_extraction_spells', '1'),
    'cancer_early_stage': ('tumour', 'cancer_early_stage_tumours', 'cancer_staged_tumours'),
} %}
with flags as (
    select * from {{ ref('int_indicators__person_flags') }}
)

{% for indicator_id in indicator_ids -%}
{%- set unit, numerator_count, denominator_count = counted.get(indicator_id, (
        'person', 'case when ' ~ indicator_id ~ '_numerator then 1 else 0 end', '1')) %}
select
    person_id,
    cast('{{ indicator_id }}' as {{ dbt.type_string() }}) as indicator_id,
    cast('{{ unit }}' as {{ dbt.type_string() }}) as counting_unit,
    {{ indicator_id }}_denominator as is_denominator,
    {{ indicator_id }}_numerator as is_numerator,
    cast({{ denominator_count }} as {{ dbt.type_int() }}) as denominator_count,
    cast({{ numerator_count }} as {{ dbt.type_int() }}) as numerator_count,
    has_type1_opt_out
from flags
where {{ indicator_id }}_denominator
{% if not loop.last %}union all
{% endif -%}
{%- endfor %}
