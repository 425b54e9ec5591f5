-- Denominator populations of the Better Care Fund rates: people registered with a practice of the ICB and alive at
-- each period end (int_indicators__bcf_periods), by upper-tier local authority of residence and single year of age
-- at the period end. The same rules as int_person__registered_population, applied on each period end: a
-- registration open on the date (start <= date, end null or after it), latest start wins, no death on or before
-- the date (a death on any registration counts). Residence = the LSOA of that registration -> district
-- (imd2019_lsoa) -> local authority (practice_map: Peterborough E06000031, the Cambridgeshire districts E10000003);
-- an LSOA outside the ICB or unknown gives no local authority and is left out. People with a Type 1 opt-out are left
-- out (excluded from every aggregate): the opt-out of their latest registration record (int_person__type1_opt_out,
-- the same rule as every mart). This is a REGISTERED population, not the ONS
-- mid-year estimate the national BCF figures use (list inflation makes it somewhat larger).
with periods as (
    select * from {{ ref('int_indicators__bcf_periods') }}
),

registrations as (
    select * from {{ ref('int_person__registrations') }}
),

people as (
    select
        registrations.person_id,
        min(registrations.date_of_death) as date_of_death,
        max(case when opt_out.has_type1_opt_out then 1 else 0 end) = 1 as has_type1_opt_out
    from registrations
    inner join {{ ref('int_person__type1_opt_out') }} as opt_out
        on registrations.person_id = opt_out.person_id
    group by registrations.person_id
),

district_local_authorities as (
    select distinct district_code, la_code
    from {{ ref('practice_map') }}
),

open_registrations as (
    select
        periods.period,
        periods.period_end,
        registrations.person_id,
        registrations.date_of_birth,
        registrations.lsoa_code,
        row_number() over (
            partition by periods.period_end, registrations.person_id
            order by {{ registration_recency_order('registrations.') }}
        ) as recency_rank
    from periods
    inner join registrations
        on registrations.registration_start_date <= periods.period_end
        and (registrations.registration_end_date is null or registrations.registration_end_date > periods.period_end)
    inner join people
        on registrations.person_id = people.person_id
    where (people.date_of_death is null or people.date_of_death > periods.period_end)
      and not people.has_type1_opt_out
)

select
    open_registrations.period,
    open_registrations.period_end,
    district_local_authorities.la_code,
    cast({{ age_in_years('open_registrations.date_of_birth', 'open_registrations.period_end') }} as {{ dbt.type_int() }})
        as age,
    count(*) as registered_persons
from open_registrations
inner join {{ ref('imd2019_lsoa') }} as imd
    on open_registrations.lsoa_code = imd.lsoa_code
inner join district_local_authorities
    on imd.lad_code = district_local_authorities.district_code
where open_registrations.recency_rank = 1
group by
    open_registrations.period,
    open_registrations.period_end,
    district_local_authorities.la_code,
    {{ age_in_years('open_registrations.date_of_birth', 'open_registrations.period_end') }}
