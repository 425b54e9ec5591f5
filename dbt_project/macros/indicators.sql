{#- The Core20PLUS5 indicators are data: seeds/indicator_definitions.csv, one row per indicator. Models and tests
    that need one column or one union branch per indicator take the list from here, never from a literal, so an
    indicator is added or removed in the seed alone (its numerator / denominator rules still live in
    int_indicators__person_flags, one pair of expressions per indicator: a seed row without them fails the build
    on the missing <id>_denominator column).
    indicator_definitions() returns [{'indicator_id', 'counting_unit'}], ordered by indicator_id. The seed is read
    when the model or test runs (dbt builds seeds first; the ref below, outside any condition, records the
    dependency at parse time). At parse time (execute is false) the list is empty: nothing is run then. At run time
    a seed that is not built, or is empty, stops with a message rather than compiling a model with no indicators. -#}
{% macro indicator_definitions() -%}
    {%- set seed_ref = ref('indicator_definitions') -%}
    {%- if not execute -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set relation = load_relation(seed_ref) if (seed_ref.schema is defined and seed_ref.schema) else none -%}
    {%- if relation is none -%}
        {{ exceptions.raise_compiler_error("indicator_definitions(): the seed indicator_definitions is not built here ("
                                           ~ seed_ref ~ "); dbt build builds it first, or run dbt seed") }}
    {%- endif -%}
    {%- set rows = run_query("select indicator_id, counting_unit from " ~ relation ~ " order by indicator_id").rows -%}
    {%- set definitions = [] -%}
    {%- for row in rows -%}
        {%- if not modules.re.match('^[a-z][a-z0-9_]*$', row[0] | string) -%}
            {{ exceptions.raise_compiler_error("indicator_definitions: indicator_id '" ~ row[0] ~ "' is not snake_case") }}
        {%- endif -%}
        {%- do definitions.append({'indicator_id': row[0] | string, 'counting_unit': row[1] | string}) -%}
    {%- endfor -%}
    {%- if definitions | length == 0 -%}
        {{ exceptions.raise_compiler_error("seeds/indicator_definitions.csv has no indicators") }}
    {%- endif -%}
    {{ return(definitions) }}
{%- endmacro %}

{#- The indicator ids of indicator_definitions(), in the same order. -#}
{% macro indicator_ids() -%}
    {{ return(indicator_definitions() | map(attribute='indicator_id') | list) }}
{%- endmacro %}
