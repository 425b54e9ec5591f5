-- Every registration episode of a linkable person, flagged for the reference date, so the population
-- rule (and later point-in-time questions) read one place. No NHS number past staging.
with patients as (
    select * from {{ ref('stg_gp_patients') }}
    -- gp_patients NHS numbers are all valid, so all should link; an unlinked row is flagged by a staging test.
    where is_linked
)

select
    person_id,
    practice_code,
    registration_start_date,
    registration_end_date,
    date_of_birth,
    sex_code,
    ethnic_category,
    lsoa_code,
    date_of_death,
    has_type1_opt_out,
    -- ehrQL practice_registrations.for_patient_on(): start on or before the date, end after it (or open).
    (
        registration_start_date <= {{ reference_date() }}
        and (registration_end_date is null or registration_end_date > {{ reference_date() }})
    ) as is_open_on_reference_date
from patients
