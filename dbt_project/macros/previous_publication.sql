{#- Who was on each target list in the previously published warehouse. The refresh copies it into the build file
    (schema `previous`, assets/previous_publication.py) before dbt runs; when there is none (a first refresh, or a
    build made outside the refresh, e.g. tests) every list member is new. Checked at run time, so the models
    compile and run either way. -#}
{% macro previous_target_list_members() -%}
    {%- set relation = adapter.get_relation(database=target.database, schema='previous',
                                            identifier='target_list_members') if execute else none -%}
    {%- if relation is not none -%}
    select list_name, person_id, neighbourhood, practice_code from {{ relation }}
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as list_name,
        cast(null as {{ dbt.type_string() }}) as person_id,
        cast(null as {{ dbt.type_string() }}) as neighbourhood,
        cast(null as {{ dbt.type_string() }}) as practice_code
    where 1 = 0
    {%- endif -%}
{%- endmacro %}
