-- Blood pressure readings as QOF counts them: one reading per person per day with a plausible systolic AND a
-- plausible diastolic value; several readings that day -> the lowest systolic and the lowest diastolic
-- (taken separately). Implausible values (outside plausible_ranges, e.g. SBP 300) are ignored, so a day whose
-- only systolic is implausible has no reading. Up to the reference date.
-- Clinical spec v2 (Latest values):
--   * Ambulatory / home summary codes that are not a reading of the usual pressure (24-hour minimum, night-time
--     averages ...: concept bp_not_a_reading) are ignored, or the lowest-of-day rule would pick them.
--   * Home and daytime / 24-hour ambulatory averages (concept bp_home_or_ambulatory) are readings, flagged
--     is_home_or_ambulatory so the home targets apply. Clinic and home values are not mixed: a day with both a
--     complete clinic reading and a complete home / ambulatory one keeps the clinic reading (the one taken that
--     day at the practice); a day with only home / ambulatory values gives a home / ambulatory reading.
with bp_code_flags as (
    select
        code,
        max(case when concept = {{ concept('bp_not_a_reading') }} then 1 else 0 end) = 1 as is_not_a_reading,
        max(case when concept = {{ concept('bp_home_or_ambulatory') }} then 1 else 0 end) = 1 as is_home_or_ambulatory
    from {{ ref('int_reference__concept_codes') }}
    where concept in ({{ concepts('bp_not_a_reading', 'bp_home_or_ambulatory') }})
    group by code
),

bp_values as (
    select
        observations.person_id,
        observations.event_date,
        observations.concept,
        observations.numeric_value,
        coalesce(bp_code_flags.is_home_or_ambulatory, false) as is_home_or_ambulatory
    from {{ ref('int_clinical__observations_all') }} as observations
    left join bp_code_flags
        on observations.snomed_code = bp_code_flags.code
    where observations.concept in ({{ concepts('systolic_bp', 'diastolic_bp') }})
      and observations.value_status = 'plausible'
      and not coalesce(bp_code_flags.is_not_a_reading, false)
),

readings_by_type as (
    select
        person_id,
        event_date,
        is_home_or_ambulatory,
        min(case when concept = {{ concept('systolic_bp') }} then numeric_value end) as systolic,
        min(case when concept = {{ concept('diastolic_bp') }} then numeric_value end) as diastolic
    from bp_values
    group by person_id, event_date, is_home_or_ambulatory
    having min(case when concept = {{ concept('systolic_bp') }} then numeric_value end) is not null
       and min(case when concept = {{ concept('diastolic_bp') }} then numeric_value end) is not null
),

ranked as (
    select
        readings_by_type.*,
        row_number() over (
            partition by person_id, event_date
            order by case when is_home_or_ambulatory then 1 else 0 end
        ) as type_rank
    from readings_by_type
)

select
    person_id,
    event_date as bp_date,
    systolic,
    diastolic,
    is_home_or_ambulatory
from ranked
where type_rank = 1
