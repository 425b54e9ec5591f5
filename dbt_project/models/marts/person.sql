-- Published: one row per registered person on the reference date (architecture.md contract columns first).
-- No NHS number or date of birth here: identifiable fields stay in restricted.person_identity / staging.
select
    person_id,
    practice_code,
    pcn_code,
    neighbourhood,
    place,
    age,
    age_band,
    sex,
    ethnicity_group,
    lsoa_code,
    imd_decile,
    imd_quintile,
    has_type1_opt_out as type1_opt_out,
    -- Extras beyond the contract: useful breakdowns and provenance.
    pcn_name,
    age_band_order,
    sex_code,
    ethnic_category,
    is_white_non_british,
    district_code,
    district,
    la_code,
    imd_version,
    registration_start_date,
    reference_date
from {{ ref('int_person__registered_population') }}
