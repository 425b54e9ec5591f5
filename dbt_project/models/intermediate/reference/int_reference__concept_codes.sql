-- Every codelist as one long table (Tuva value-set style): concept, code, code system, role, file it came from.
-- The files are the seeds listed in codelist_seed_names() (macros/clinical/concepts.sql); which column holds the
-- code (code / dmd_id / icd) and what each file means come from the concept map, codelist_concepts.csv, read
-- at run time. A file in the map but not in the list (or the reverse) stops the build with a clear message.
{%- set seed_names = codelist_seed_names() -%}
{%- set code_columns = {} -%}
{%- if execute -%}
    {%- set concept_map = run_query("select distinct file, code_column from " ~ ref('codelist_concepts')) -%}
    {%- for row in concept_map.rows -%}
        {%- if row[0] in code_columns and code_columns[row[0]] != row[1] -%}
            {{ exceptions.raise_compiler_error("codelist_concepts: file " ~ row[0] ~ " has two code columns") }}
        {%- endif -%}
        {%- do code_columns.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set unlisted = code_columns.keys() | reject('in', seed_names) | list -%}
    {%- set unmapped = seed_names | reject('in', code_columns.keys()) | list -%}
    {%- if unlisted or unmapped -%}
        {{ exceptions.raise_compiler_error(
            "codelist_seed_names() and codelist_concepts.csv disagree. In the map only: " ~ (unlisted | join(', '))
            ~ ". In the list only: " ~ (unmapped | join(', '))) }}
    {%- endif -%}
{%- endif %}

with codelist_rows as (
    {%- for seed_name in seed_names %}
    select
        '{{ seed_name }}' as source_file,
        cast({{ adapter.quote(code_columns.get(seed_name, 'code')) }} as {{ dbt.type_string() }}) as code
    from {{ ref(seed_name) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

concept_map as (
    select * from {{ ref('codelist_concepts') }}
)

select distinct
    concept_map.concept,
    trim(codelist_rows.code) as code,
    concept_map.code_system,
    concept_map.role,
    codelist_rows.source_file
from codelist_rows
inner join concept_map
    on codelist_rows.source_file = concept_map.file
where codelist_rows.code is not null
  and trim(codelist_rows.code) <> ''
