-- The Core20PLUS5 flags of int_indicators__person_flags in long form (Tuva summary_long style): one row per person
-- in an indicator's denominator, with the counts the aggregate sums. Person-counted indicators count 1 in the
-- denominator and 1 / 0 in the numerator; copd_emergency_admissions and cyp_oral_health_extraction count the
-- person once in the denominator and their spells in the numerator; cancer_early_stage counts tumours in both
-- (staged / early-stage tumours). marts.core20plus5_indicators is one generic aggregation of this table.
-- The counting unit of each indicator is indicator_definitions.counting_unit (the seed); a spell- or tumour-counted
-- indicator needs its count expressions below, or the build stops.
{#- one branch per indicator of seeds/indicator_definitions.csv (macros/indicators.sql) -#}
{%- set definitions = indicator_definitions() %}
{#- indicator id -> (numerator count expression, denominator count expression) where the unit is not a person -#}
{%- set counts = {
    'copd_emergency_admissions': ('copd_emergency_admissions_spells', '1'),
    'cyp_oral_health_extraction': ('cyp_oral_health_extraction_spells', '1'),
    'cancer_early_stage': ('cancer_early_stage_tumours', 'cancer_staged_tumours'),
} %}
with flags as (
    select * from {{ ref('int_indicators__person_flags') }}
)

{% for definition in definitions -%}
{%- set indicator_id, unit = definition.indicator_id, definition.counting_unit %}
{%- if unit == 'person' %}
{%- set numerator_count, denominator_count = 'case when ' ~ indicator_id ~ '_numerator then 1 else 0 end', '1' %}
{%- elif indicator_id in counts %}
{%- set numerator_count, denominator_count = counts[indicator_id] %}
{%- else %}
{{ exceptions.raise_compiler_error("int_indicators__person_long: " ~ indicator_id ~ " counts " ~ unit
                                   ~ "s (indicator_definitions) but has no count expressions here") }}
{%- endif %}
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
