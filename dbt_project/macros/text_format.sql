{#- Values as clinicians read them in the reasons text of pathways and lists ("BP 168/96 on 2026-09-14").
    Portable: round then cast (DuckDB and Spark both print a double rounded to 1 dp as e.g. 34.1). -#}
{% macro text_number(expression, decimals=0) -%}
    {%- if decimals == 0 -%}
    cast(cast(round({{ expression }}, 0) as {{ dbt.type_int() }}) as {{ dbt.type_string() }})
    {%- else -%}
    cast(round({{ expression }}, {{ decimals }}) as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{% macro text_date(expression) -%}
    cast({{ expression }} as {{ dbt.type_string() }})
{%- endmacro %}

{#- The non-null values of the expressions joined by a separator ('' when all are null). concat_ws skips nulls on
    DuckDB, Spark and Postgres; dispatch leaves room for an engine where it does not. -#}
{% macro join_non_null(expressions, separator) -%}
    {{ return(adapter.dispatch('join_non_null', 'phm')(expressions, separator)) }}
{%- endmacro %}

{% macro default__join_non_null(expressions, separator) -%}
    concat_ws({{ separator }}, {{ expressions | join(', ') }})
{%- endmacro %}
