-- Blood pressure readings as QOF counts them: one reading per person per day with a plausible systolic AND a
-- plausible diastolic value; several readings that day -> the lowest systolic and the lowest diastolic
-- (taken separately). Implausible values (outside plausible_ranges, e.g. SBP 300) are ignored, so a day whose
-- only systolic is implausible has no reading. Up to the reference date.
select
    person_id,
    event_date as bp_date,
    min(case when concept = {{ concept('systolic_bp') }} then numeric_value end) as systolic,
    min(case when concept = {{ concept('diastolic_bp') }} then numeric_value end) as diastolic
from {{ ref('int_clinical__observations_all') }}
where concept in ({{ concepts('systolic_bp', 'diastolic_bp') }})
  and value_status = 'plausible'
group by person_id, event_date
having min(case when concept = {{ concept('systolic_bp') }} then numeric_value end) is not null
   and min(case when concept = {{ concept('diastolic_bp') }} then numeric_value end) is not null
