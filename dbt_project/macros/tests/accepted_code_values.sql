{#- The column holds only codes that seeds/code_values.csv accepts for (feed, column) of the contract: the one
    list the gate-1 invalid_code rules and the generator also read, so a code is added in one place. column
    defaults to the tested column's name (staging renames some, e.g. attendance_status -> attendance_status_code).
    Values are compared as text (acuity is an integer). Nulls pass: pair with not_null where a null is a defect.
    A (feed, column) with no rows in the seed fails on every non-null value rather than passing silently.
    Portable SQL: a NOT IN subquery in the WHERE clause (DuckDB and Spark). -#}
{% test accepted_code_values(model, column_name, feed, column=none) %}
{%- set contract_column = column or column_name -%}
{%- for name in [feed, contract_column] -%}
    {%- if not modules.re.match('^[a-z0-9_]+$', name | string) -%}
        {{ exceptions.raise_compiler_error("accepted_code_values on " ~ model ~ "." ~ column_name ~ ": feed and column must be snake_case literals, got '" ~ name ~ "'") }}
    {%- endif -%}
{%- endfor %}
with accepted as (
    select code
    from {{ ref('code_values') }}
    where feed = '{{ feed }}'
      and column_name = '{{ contract_column }}'
)

select {{ column_name }} as value_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
  and cast({{ column_name }} as {{ dbt.type_string() }}) not in (select code from accepted)
group by {{ column_name }}
{% endtest %}
