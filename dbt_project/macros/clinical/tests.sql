{#- Required rows (NCL-style guard), derived from the models themselves: every identifier a model passes to one of
    `macro_names` (as a quoted literal) must have a row in `model`.`column_name`. With all_arguments, every quoted
    literal in the call counts (concepts('a', 'b')); otherwise only the first (threshold('rule_id'),
    in_lookback('rule_id', 'event_date')). `values` adds identifiers by hand. Returns each missing identifier with
    the models that use it. Reads raw SQL from the graph, so it sees every model of this project, marts included. -#}
{% test used_in_models_exist(model, column_name, macro_names, all_arguments=false, values=[]) %}
{%- set used = {} -%}
{%- for value in values -%}
    {%- do used.update({value: used.get(value, []) + ['(listed)']}) -%}
{%- endfor -%}
{%- if execute -%}
    {%- set call_pattern = '\\b(?:' ~ (macro_names | join('|')) ~ ')\\(([^)]*)\\)' -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type in ['model', 'snapshot', 'analysis'] and node.package_name == project_name -%}
            {%- for arguments in modules.re.findall(call_pattern, node.raw_code) -%}
                {%- set names = modules.re.findall("[\"']([A-Za-z0-9_]+)[\"']", arguments) -%}
                {%- for name in (names if all_arguments else names[:1]) -%}
                    {%- do used.update({name: used.get(name, []) + [node.name]}) -%}
                {%- endfor -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}
with required as (
    {%- for name, users in used.items() | sort %}
    select '{{ name }}' as required_value, '{{ users | unique | sort | join(", ") }}' as used_by
    {%- if not loop.last %} union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as required_value, cast(null as {{ dbt.type_string() }}) as used_by
    where 1 = 0
    {%- endfor %}
),

present as (
    select distinct {{ column_name }} as present_value
    from {{ model }}
)

select required.required_value, required.used_by
from required
left join present
    on required.required_value = present.present_value
where present.present_value is null
{% endtest %}


{#- Every distinct value of source_model.source_column appears in model.column_name (a reverse relationships
    test: e.g. every codelist file the concept map names contributes codes). -#}
{% test covers_values_of(model, column_name, source_model, source_column) %}
with expected as (
    select distinct {{ source_column }} as expected_value
    from {{ source_model }}
    where {{ source_column }} is not null
),

present as (
    select distinct {{ column_name }} as present_value
    from {{ model }}
)

select expected.expected_value
from expected
left join present
    on expected.expected_value = present.present_value
where present.present_value is null
{% endtest %}
