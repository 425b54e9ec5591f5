{#- Whole years between date_of_birth and as_of_date.
    Portable birthday arithmetic: year difference, minus one if the birthday (month*100 + day) has not
    been reached yet in the as-of year. Someone born on 29 February therefore turns a year older on
    1 March in non-leap years (UK legal convention) and on 29 February in leap years. Avoids dialect
    date-diff semantics (DuckDB datediff('year') counts year boundaries, Spark months_between rounds). -#}
{% macro age_in_years(date_of_birth, as_of_date) -%}
    (
        {{ phm.date_part_number('year', as_of_date) }} - {{ phm.date_part_number('year', date_of_birth) }}
        - case
            when {{ phm.date_part_number('month', as_of_date) }} * 100 + {{ phm.date_part_number('day', as_of_date) }}
               < {{ phm.date_part_number('month', date_of_birth) }} * 100 + {{ phm.date_part_number('day', date_of_birth) }}
            then 1 else 0
          end
    )
{%- endmacro %}


{#- Integer year / month / day of a date. dbt-core has no date_part macro (dbt_utils had one); ANSI
    extract() works on DuckDB, Spark 3+ and Postgres, and dispatch leaves room for a dialect that differs. -#}
{% macro date_part_number(part, date_expression) -%}
    {{ return(adapter.dispatch('date_part_number', 'phm')(part, date_expression)) }}
{%- endmacro %}

{% macro default__date_part_number(part, date_expression) -%}
    extract({{ part }} from {{ date_expression }})
{%- endmacro %}
