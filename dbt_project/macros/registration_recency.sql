{#- The order that picks a person's latest registration (clinical spec, Population: latest start wins), used by
    every model that chooses one registration: latest start first; ties go to the still-open episode, then the later
    end, then practice code, so a rebuild always picks the same one. `alias` prefixes the columns (e.g.
    'registrations.'). Render inside `order by` of a row_number() window. -#}
{% macro registration_recency_order(alias='') -%}
    {{ alias }}registration_start_date desc,
    case when {{ alias }}registration_end_date is null then 0 else 1 end,
    {{ alias }}registration_end_date desc,
    {{ alias }}practice_code
{%- endmacro %}
