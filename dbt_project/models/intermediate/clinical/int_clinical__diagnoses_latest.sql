{{ config(materialized='view') }}
-- QOF-style state of every diagnosis concept per person on the reference date, before register-specific rules
-- (minimum ages, cancer lookback, frailty severity) are applied in int_clinical__registers.
-- Active = a diagnosis code whose latest date is strictly after the latest resolved code. A resolved code on the
-- SAME day as the latest diagnosis code resolves it (QOF business rules select "resolved date < diagnosis date";
-- a code that is in both lists, e.g. "schizophrenia in remission", is therefore a resolution).
-- A later diagnosis code after a resolution makes the concept active again.
with coded as (
    select person_id, concept, role, event_date, snomed_code
    from {{ ref('int_clinical__coded_events_all') }}
    where role in ('diagnosis', 'resolved')
),

dated as (
    select
        person_id,
        concept,
        min(case when role = 'diagnosis' then event_date end) as first_diagnosis_date,
        max(case when role = 'diagnosis' then event_date end) as latest_diagnosis_date,
        max(case when role = 'resolved' then event_date end) as latest_resolved_date
    from coded
    group by person_id, concept
),

latest_code as (
    -- The code of the latest diagnosis event (several on that day: the lowest code, so rebuilds agree).
    select person_id, concept, min(snomed_code) as latest_diagnosis_code
    from (
        select
            coded.person_id,
            coded.concept,
            coded.snomed_code
        from coded
        inner join dated
            on coded.person_id = dated.person_id
            and coded.concept = dated.concept
            and coded.event_date = dated.latest_diagnosis_date
        where coded.role = 'diagnosis'
    ) as latest_events
    group by person_id, concept
)

select
    dated.person_id,
    dated.concept,
    dated.first_diagnosis_date,
    dated.latest_diagnosis_date,
    latest_code.latest_diagnosis_code,
    dated.latest_resolved_date,
    (dated.latest_resolved_date is null or dated.latest_resolved_date < dated.latest_diagnosis_date) as is_active
from dated
inner join latest_code
    on dated.person_id = latest_code.person_id
    and dated.concept = latest_code.concept
where dated.latest_diagnosis_date is not null
