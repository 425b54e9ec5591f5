-- The registered population on the reference date (clinical spec, Population): alive, registration open,
-- one current practice per person, with age, ethnicity group and geography resolved from the seeds.
with registrations as (
    select * from {{ ref('int_person__registrations') }}
),

deaths as (
    -- A death recorded on any of the person's registrations counts: practices disagree only by error,
    -- and counting a dead person in a list for direct care is the worse mistake.
    select
        person_id,
        min(date_of_death) as date_of_death
    from registrations
    group by person_id
),

ranked_open_registrations as (
    select
        registrations.*,
        -- Latest start wins; ties (same start, two practices) go to the still-open episode, then the
        -- later end, then practice code, so a rebuild always picks the same practice.
        row_number() over (
            partition by person_id
            order by {{ registration_recency_order() }}
        ) as recency_rank
    from registrations
    where is_open_on_reference_date
),

current_registration as (
    select ranked_open_registrations.*
    from ranked_open_registrations
    inner join deaths
        on ranked_open_registrations.person_id = deaths.person_id
    where ranked_open_registrations.recency_rank = 1
      -- Alive on the reference date (ehrQL is_alive_on): no death, or death after it.
      and (deaths.date_of_death is null or deaths.date_of_death > {{ reference_date() }})
),

with_age as (
    select
        current_registration.*,
        cast({{ age_in_years('date_of_birth', reference_date()) }} as {{ dbt.type_int() }}) as age
    from current_registration
),

age_bands as (
    select * from {{ ref('age_bands') }}
),

ethnicity_groups as (
    select * from {{ ref('ethnicity_groups') }}
),

imd as (
    select * from {{ ref('imd2019_lsoa') }}
),

practices as (
    select * from {{ ref('practice_map') }}
),

-- Residence district -> upper-tier local authority, read off the practice map (every district of the ICB
-- has practices); a residence outside the ICB gets no local authority.
district_local_authorities as (
    select distinct district_code, la_code
    from practices
)

select
    with_age.person_id,
    with_age.practice_code,
    practices.practice_name,
    practices.pcn_code,
    practices.pcn_name,
    practices.neighbourhood,
    practices.place,
    with_age.registration_start_date,
    with_age.date_of_birth,
    with_age.age,
    age_bands.age_band,
    age_bands.sort_order as age_band_order,
    with_age.sex_code,
    case with_age.sex_code
        when '1' then 'Male'
        when '2' then 'Female'
        when '9' then 'Indeterminate'
        when 'X' then 'Not known'
    end as sex,
    with_age.ethnic_category,
    -- Null = nothing recorded; Z (Not stated) is a recorded refusal and comes from the seed.
    case
        when with_age.ethnic_category is null then 'Not recorded'
        else ethnicity_groups.ethnicity_group
    end as ethnicity_group,
    coalesce(ethnicity_groups.is_white_non_british, false) as is_white_non_british,
    coalesce(ethnicity_groups.uses_lower_bmi_thresholds, false) as uses_lower_bmi_thresholds,
    with_age.lsoa_code,
    imd.lad_code as district_code,
    imd.lad_name as district,
    district_local_authorities.la_code,
    imd.imd_decile,
    cast(ceil(imd.imd_decile / 2.0) as {{ dbt.type_int() }}) as imd_quintile,
    {{ imd_version() }} as imd_version,
    -- The latest record across all registrations, not only the current one (int_person__type1_opt_out).
    type1_opt_out.has_type1_opt_out,
    {{ reference_date() }} as reference_date
from with_age
inner join {{ ref('int_person__type1_opt_out') }} as type1_opt_out
    on with_age.person_id = type1_opt_out.person_id
left join age_bands
    on with_age.age >= age_bands.min_age
    and (age_bands.max_age is null or with_age.age <= age_bands.max_age)
left join ethnicity_groups
    on with_age.ethnic_category = ethnicity_groups.ethnic_category
left join imd
    on with_age.lsoa_code = imd.lsoa_code
left join district_local_authorities
    on imd.lad_code = district_local_authorities.district_code
left join practices
    on with_age.practice_code = practices.practice_code
