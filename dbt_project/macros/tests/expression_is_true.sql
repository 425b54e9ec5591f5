{#- Rows where a boolean SQL expression is false. Nulls do not fail (as dbt_utils): add not_null where
    a null would be a defect. With column_name, the expression is appended to the column. -#}
{% test expression_is_true(model, expression, column_name=None) %}
select *
from {{ model }}
where not (
    {%- if column_name %}{{ column_name }} {% endif -%}{{ expression }}
)
{% endtest %}
