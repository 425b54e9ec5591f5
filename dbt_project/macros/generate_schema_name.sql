{#- Land each node in exactly its custom schema (staging, intermediate, marts, restricted, reference),
    not dbt's default "<target schema>_<custom>": the publish step and readers address these names.
    var('model_schema_suffix') (default '') renames only the intermediate and marts schemas of models: the risk
    validation rebuilds the risk score as of a year earlier into intermediate_prior / marts_prior beside this
    run's tables, reusing its seeds, staging views and the models tagged reference_date_free
    (assets/risk_validation.py). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set suffix = var('model_schema_suffix', '') | string | trim -%}
    {%- if suffix and not modules.re.match('^_[a-z0-9_]+$', suffix) -%}
        {{ exceptions.raise_compiler_error("var model_schema_suffix must look like _prior, got '" ~ suffix ~ "'") }}
    {%- endif -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif node.resource_type == 'model' and (custom_schema_name | trim) in ('intermediate', 'marts')
        and 'reference_date_free' not in (node.config.tags or []) -%}
        {{ custom_schema_name | trim }}{{ suffix }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
