{#- Land each node in exactly its custom schema (staging, intermediate, marts, restricted, reference),
    not dbt's default "<target schema>_<custom>": the publish step and readers address these names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
