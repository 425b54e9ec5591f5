-- Social circumstances coded in the GP record, per registered person on the reference date: the PLUS groups
-- of Core20PLUS5 (carer, homeless, armed forces veteran, asylum seeker / refugee, Gypsy / Roma / Traveller) and
-- care home residence coding. Each flag comes with the date of the latest code that set it.
--   * Carer: latest carer code not followed by a "not a carer" code (same day: not a carer), as registers.
--   * The others have no "resolved" codelist: ever coded up to the reference date (inclusion-health practice;
--     a homeless code from years ago still flags; the date lets a mart apply a recency rule).
{%- set flags = ['homeless', 'veteran', 'asylum_refugee', 'gypsy_roma_traveller', 'care_home_coded'] %}
with population as (
    select person_id from {{ ref('int_person__registered_population') }}
),

social_dates as (
    select
        person_id,
        max(case when concept = {{ concept('carer') }} and role = 'social' then event_date end) as carer_date,
        max(case when concept = {{ concept('carer') }} and role = 'resolved' then event_date end) as not_carer_date,
        max(case when concept = {{ concept('homeless') }} then event_date end) as homeless_date,
        max(case when concept = {{ concept('veteran') }} then event_date end) as veteran_date,
        max(case when concept = {{ concept('asylum_refugee') }} then event_date end) as asylum_refugee_date,
        max(case when concept = {{ concept('gypsy_roma_traveller') }} then event_date end) as gypsy_roma_traveller_date,
        max(case when concept = {{ concept('care_home') }} then event_date end) as care_home_coded_date
    from {{ ref('int_clinical__coded_events_all') }}
    where concept in ({{ concepts('carer', 'homeless', 'veteran', 'asylum_refugee', 'gypsy_roma_traveller',
                                 'care_home') }})
    group by person_id
)

select
    population.person_id,
    coalesce(
        social_dates.carer_date is not null
        and (social_dates.not_carer_date is null or social_dates.not_carer_date < social_dates.carer_date),
        false
    ) as is_carer,
    social_dates.carer_date,
    {%- for flag in flags %}
    social_dates.{{ flag }}_date is not null as is_{{ flag }},
    social_dates.{{ flag }}_date{{ ',' if not loop.last }}
    {%- endfor %}
from population
left join social_dates
    on population.person_id = social_dates.person_id
