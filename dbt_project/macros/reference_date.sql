{#- The as-of date of every rule (clinical spec). Validated here so a malformed --vars fails at compile
    time, not as a silently empty population. -#}
{% macro reference_date() -%}
    {%- set value = var('reference_date') | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var reference_date must be an ISO date YYYY-MM-DD, got '" ~ value ~ "'") }}
    {%- endif -%}
    cast('{{ value }}' as date)
{%- endmacro %}


{#- The IMD release the imd2019_lsoa seed holds; another release needs its own seed first. -#}
{% macro imd_version() -%}
    {%- set value = var('imd_version') | string | trim -%}
    {%- if value != 'IMD2019' -%}
        {{ exceptions.raise_compiler_error("var imd_version '" ~ value ~ "' has no seed: only IMD2019 (seeds/imd2019_lsoa.csv) is loaded") }}
    {%- endif -%}
    '{{ value }}'
{%- endmacro %}
