-- Every GP observation (codelist role 'observation': BP, HbA1c, cholesterol, BMI, QRISK, eGFR, ACR, smoking
-- status, alcohol, pregnancy ...) of the registered population up to the reference date, with the plausibility
-- of its value against seeds/plausible_ranges.csv. Implausible values are kept and labelled (the quality gate
-- counts them); every "latest value" reads only value_status = 'plausible'. A concept with no range row
-- (eGFR, ACR, CHA2DS2-VASc, creatinine, gestation) accepts any recorded value.
with observations as (
    select person_id, event_date, concept, snomed_code, numeric_value, unit
    from {{ ref('int_clinical__coded_events_all') }}
    where role = 'observation'
),

plausible_ranges as (
    select concept, min_value, max_value
    from {{ ref('plausible_ranges') }}
)

select
    observations.person_id,
    observations.event_date,
    observations.concept,
    observations.snomed_code,
    observations.numeric_value,
    observations.unit,
    case
        when observations.numeric_value is null then 'no_value'
        when plausible_ranges.concept is null then 'plausible'
        when observations.numeric_value >= plausible_ranges.min_value
             and observations.numeric_value <= plausible_ranges.max_value then 'plausible'
        else 'implausible'
    end as value_status
from observations
left join plausible_ranges
    on observations.concept = plausible_ranges.concept
