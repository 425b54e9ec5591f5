{#- Spark only (issue 19). dbt resolves these `spark__` implementations of dbt's own dispatched macros from the
    root project first; on DuckDB they are never called. -#}

{#- A relation name Spark accepts: the codelist seeds keep their published file names (opencodelists slugs with
    hyphens, e.g. user-markdrussell-heart-failure-secondary-care), which Spark's metastore refuses even quoted.
    On Spark the table is named with underscores (and lowercased by the metastore); ref() follows the alias, so
    models do not change. -#}
{% macro spark__generate_alias_name(custom_alias_name=none, node=none) -%}
    {%- set name = dbt.default__generate_alias_name(custom_alias_name, node) | trim -%}
    {{ return(name | replace('-', '_')) }}
{%- endmacro %}


{#- Seed rows as SQL literals. dbt-spark 1.11's session method pastes each value as '<python str>' into the
    insert: a null becomes the text 'None' and an apostrophe (St Mary's Surgery) breaks the statement. Here a
    null is null, text is escaped for Spark's string literals (backslash and quote), numbers and booleans are
    written bare; each value is still cast to the seed's declared column type, as dbt-spark does. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set batch_size = get_batch_size() -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set column_types = [] -%}
    {%- for col_name in agate_table.column_names -%}
        {%- do column_types.append(column_override.get(col_name, adapter.convert_type(agate_table, loop.index0))) -%}
    {%- endfor -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(batch_size) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    cast({{ phm.spark_literal(value) }} as {{ column_types[loop.index0] }})
                    {%- if not loop.last %},{% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor -%}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.index0 == 0 -%}
            {%- do statements.append(sql) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(statements[0] if statements else '') }}
{% endmacro %}


{% macro spark_literal(value) -%}
    {%- if value is none -%}
        null
    {%- elif value is boolean -%}
        {{ 'true' if value else 'false' }}
    {%- elif value is number -%}
        {{ value }}
    {%- else -%}
        '{{ value | string | replace('\\', '\\\\') | replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}


{#- dbt.listagg on Spark. dbt-spark's implementation drops the order_by_clause (collect_list, with a warning), so
    int_risk__scores.score_breakdown and pathway_status.reasons would list their parts in whatever order the
    shuffle left them. Spark 4 has listagg(... ) within group (order by ...), as DuckDB and Postgres do. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- if order_by_clause and limit_num -%}
        {{ exceptions.raise_compiler_error("listagg on Spark: order_by_clause with limit_num is not implemented") }}
    {%- elif order_by_clause -%}
        listagg({{ measure }}, {{ delimiter_text }}) within group ({{ order_by_clause }})
    {%- elif limit_num -%}
        array_join(slice(collect_list({{ measure }}), 1, {{ limit_num }}), {{ delimiter_text }})
    {%- else -%}
        array_join(collect_list({{ measure }}), {{ delimiter_text }})
    {%- endif -%}
{%- endmacro %}
