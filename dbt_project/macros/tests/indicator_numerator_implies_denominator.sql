{#- Rows where, for some indicator of seeds/indicator_definitions.csv (indicator_ids()), <id>_numerator is true
    but <id>_denominator is not, or either flag is null (flags are never null). One condition per indicator,
    generated from the seed. -#}
{% test indicator_numerator_implies_denominator(model) %}
{%- set ids = indicator_ids() %}
select *
from {{ model }}
where not coalesce(
    {%- for indicator_id in ids %}
    (not {{ indicator_id }}_numerator or {{ indicator_id }}_denominator){{ ' and' if not loop.last }}
    {%- else %}
    true
    {%- endfor %},
    false
)
{% endtest %}
