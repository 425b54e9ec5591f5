-- The registers of int_clinical__registers as one row per registered person: a flag per register, the coded
-- frailty severity and the number of long-term condition registers. The one pivot every model that tests "is on
-- register X" reads (Core20PLUS5 person flags, pathways, reversible risk).
{%- set condition_registers = phm.condition_registers() %}
with population as (
    select person_id from {{ ref('int_person__registered_population') }}
),

flags as (
    select
        person_id,
        {%- for register in condition_registers %}
        max(case when register = '{{ register }}' then 1 else 0 end) = 1 as is_on_{{ register }}_register,
        {%- endfor %}
        max(case
            when register = {{ concept('frailty_severe') }} then 'severe'
            when register = {{ concept('frailty_moderate') }} then 'moderate'
            when register = {{ concept('frailty_mild') }} then 'mild'
        end) as frailty_severity,
        -- Long-term condition registers (frailty severity is a state, not a condition).
        sum(case when register in ('{{ condition_registers | join("', '") }}') then 1 else 0 end)
            as condition_register_count
    from {{ ref('int_clinical__registers') }}
    group by person_id
)

select
    population.person_id,
    {%- for register in condition_registers %}
    coalesce(flags.is_on_{{ register }}_register, false) as is_on_{{ register }}_register,
    {%- endfor %}
    flags.frailty_severity,
    coalesce(flags.frailty_severity in ('moderate', 'severe'), false) as is_moderately_or_severely_frail,
    coalesce(flags.condition_register_count, 0) as condition_register_count
from population
left join flags
    on population.person_id = flags.person_id
