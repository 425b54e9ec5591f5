{#- Activity and data-dictionary codes are data (seeds/code_sets.csv: code_set, code, match_type, meaning, source),
    never literals in a model, like thresholds. in_code_set('code_set', 'column') renders a condition that is true
    when the column holds one of the set's codes:
      exact     column = code
      prefix    the column starts with the code (admission method 2 covers 21-28 and 2A-2D; F09 covers F091)
      exact_ci  lower(column) = code (free-text categories of the contract, e.g. service_type)
    The seed is read when the model runs (dbt builds seeds first) and the codes are rendered as literals, as
    int_indicators__bcf_units does for ICD-10 prefixes: an IN subquery inside a CASE is not portable to Spark.
    Before the seed exists (parse, a bare compile) the condition renders false. A code set with no rows stops the
    build; the seed's used_in_models_exist test lists every code set a model names. Only letters, digits, spaces
    and a few punctuation marks are accepted in a code. -#}
{% macro in_code_set(code_set, column_expression) -%}
    {%- if not modules.re.match('^[a-z0-9_]+$', code_set | string) -%}
        {{ exceptions.raise_compiler_error("in_code_set(): code_set must be a snake_case literal, got '" ~ code_set ~ "'") }}
    {%- endif -%}
    {%- set conditions = [] -%}
    {#- ref() outside any condition, so dbt records the dependency when it parses the model. In a dbt unit test the
        ref is the fixture (no schema): the condition renders false, like an unbuilt seed. -#}
    {%- set code_sets_ref = ref('code_sets') -%}
    {%- if execute and code_sets_ref.schema is defined and code_sets_ref.schema -%}
        {%- set relation = load_relation(code_sets_ref) -%}
        {%- if relation is not none -%}
            {%- set rows = run_query("select code, match_type from " ~ relation ~ " where code_set = '" ~ code_set
                                     ~ "' order by match_type, code").rows -%}
            {%- if rows | length == 0 -%}
                {{ exceptions.raise_compiler_error("seeds/code_sets.csv has no rows for code set '" ~ code_set ~ "'") }}
            {%- endif -%}
            {%- set exact, exact_ci, prefixes = [], [], {} -%}
            {%- for row in rows -%}
                {%- set code = row[0] | string -%}
                {%- if not modules.re.match("^[A-Za-z0-9 ._/-]+$", code) -%}
                    {{ exceptions.raise_compiler_error("code_sets: bad code '" ~ code ~ "' in '" ~ code_set ~ "'") }}
                {%- endif -%}
                {%- if row[1] == 'exact' -%}{%- do exact.append(code) -%}
                {%- elif row[1] == 'exact_ci' -%}{%- do exact_ci.append(code | lower) -%}
                {%- elif row[1] == 'prefix' -%}{%- do prefixes.update({code | length: prefixes.get(code | length, []) + [code]}) -%}
                {%- else -%}
                    {{ exceptions.raise_compiler_error("code_sets: match_type '" ~ row[1] ~ "' in '" ~ code_set ~ "'") }}
                {%- endif -%}
            {%- endfor -%}
            {%- if exact -%}
                {%- do conditions.append(column_expression ~ " in ('" ~ (exact | join("', '")) ~ "')") -%}
            {%- endif -%}
            {%- if exact_ci -%}
                {%- do conditions.append("lower(" ~ column_expression ~ ") in ('" ~ (exact_ci | join("', '")) ~ "')") -%}
            {%- endif -%}
            {%- for length, codes in prefixes.items() | sort -%}
                {%- do conditions.append("substring(" ~ column_expression ~ ", 1, " ~ length ~ ") in ('"
                                         ~ (codes | join("', '")) ~ "')") -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endif -%}
    ({{ conditions | join(' or ') if conditions else '1 = 0' }})
{%- endmacro %}
