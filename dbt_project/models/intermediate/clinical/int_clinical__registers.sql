-- QOF-style disease registers on the reference date (clinical spec, Registers), registered persons only.
-- Register ids are the spec's person_registers.register values. Rules, on top of int_clinical__diagnoses_latest
-- (latest diagnosis code not followed by a later resolved code; same-day resolution resolves):
--   * minimum ages on the reference date: asthma, diabetes, hypertension, CKD (thresholds register_min_age_*);
--   * ckd = CKD 3-5 (ckd_cod); a later CKD 1-2 code (ckd1and2_cod) or ckdres_cod removes it (both 'resolved' role);
--   * smi: a remission code (smhres) resolves; palliative: palcareni_cod ("no longer indicated") resolves;
--   * cancer: FIRST cancer code within cancer_lookback_years (clinical spec v2: c19can_cod holds "history of" and
--     "in remission" codes, so a later code does not restart it; GP record, the cancer registry is not used here);
--     diagnosis_date is that first date;
--   * asthma (clinical spec v2, QOF AST005): active only with an asthma medicine issued in the last 12 months
--     (int_clinical__medication_exposure.has_asthma_medicine_12m);
--   * ndh: latest NDH code, and not on the diabetes register;
--   * frailty: the latest coded severity wins (same day: the most severe); never resolves; one row, frailty_<severity>;
--   * diabetes: register_detail = type1 / type2 from the later of the latest type 1 and type 2 codes; 'other' when
--     no type-specific code, or both on the same latest day.
with population as (
    select person_id, age
    from {{ ref('int_person__registered_population') }}
),

diagnoses as (
    select diagnoses.*, population.age, coalesce(medication.has_asthma_medicine_12m, false) as has_asthma_medicine_12m
    from {{ ref('int_clinical__diagnoses_latest') }} as diagnoses
    inner join population
        on diagnoses.person_id = population.person_id
    left join {{ ref('int_clinical__medication_exposure') }} as medication
        on diagnoses.person_id = medication.person_id
),

standard_registers as (
    select
        person_id,
        concept as register,
        latest_diagnosis_date as diagnosis_date,
        first_diagnosis_date,
        latest_diagnosis_code as diagnosis_code
    from diagnoses
    where is_active
      and concept in ({{ concepts('hypertension', 'diabetes', 'copd', 'asthma', 'af', 'chd', 'stroke_tia',
                                  'heart_failure', 'ckd', 'pad', 'smi', 'learning_disability', 'autism',
                                  'dementia', 'epilepsy', 'palliative') }})
      and (concept <> {{ concept('asthma') }}
           or (age >= {{ threshold_int('register_min_age_asthma') }} and has_asthma_medicine_12m))
      and (concept <> {{ concept('diabetes') }} or age >= {{ threshold_int('register_min_age_diabetes') }})
      and (concept <> {{ concept('hypertension') }} or age >= {{ threshold_int('register_min_age_hypertension') }})
      and (concept <> {{ concept('ckd') }} or age >= {{ threshold_int('register_min_age_ckd') }})
),

ndh_register as (
    select
        diagnoses.person_id,
        'ndh' as register,
        diagnoses.latest_diagnosis_date as diagnosis_date,
        diagnoses.first_diagnosis_date,
        diagnoses.latest_diagnosis_code as diagnosis_code
    from diagnoses
    left join standard_registers as diabetes
        on diagnoses.person_id = diabetes.person_id
        and diabetes.register = {{ concept('diabetes') }}
    where diagnoses.concept = {{ concept('ndh') }}
      and diagnoses.is_active
      and diabetes.person_id is null
),

cancer_register as (
    select
        person_id,
        'cancer' as register,
        first_diagnosis_date as diagnosis_date,
        first_diagnosis_date,
        latest_diagnosis_code as diagnosis_code
    from diagnoses
    where concept = {{ concept('cancer') }}
      and {{ in_lookback('cancer_lookback_years', 'first_diagnosis_date') }}
),

frailty_ranked as (
    select
        person_id,
        concept,
        latest_diagnosis_date,
        first_diagnosis_date,
        latest_diagnosis_code,
        row_number() over (
            partition by person_id
            order by
                latest_diagnosis_date desc,
                case concept
                    when {{ concept('frailty_severe') }} then 1
                    when {{ concept('frailty_moderate') }} then 2
                    else 3
                end
        ) as recency_rank
    from diagnoses
    where concept in ({{ concepts('frailty_mild', 'frailty_moderate', 'frailty_severe') }})
),

frailty_register as (
    select
        person_id,
        concept as register,
        latest_diagnosis_date as diagnosis_date,
        first_diagnosis_date,
        latest_diagnosis_code as diagnosis_code
    from frailty_ranked
    where recency_rank = 1
),

diabetes_types as (
    select
        person_id,
        max(case when concept = {{ concept('diabetes_type1') }} then event_date end) as type1_date,
        max(case when concept = {{ concept('diabetes_type2') }} then event_date end) as type2_date
    from {{ ref('int_clinical__coded_events_all') }}
    where concept in ({{ concepts('diabetes_type1', 'diabetes_type2') }})
      and role = 'diagnosis'
    group by person_id
),

all_registers as (
    select * from standard_registers
    union all
    select * from ndh_register
    union all
    select * from cancer_register
    union all
    select * from frailty_register
)

select
    all_registers.person_id,
    all_registers.register,
    all_registers.diagnosis_date,
    all_registers.first_diagnosis_date,
    all_registers.diagnosis_code,
    case
        when all_registers.register = {{ concept('diabetes') }} then
            case
                when diabetes_types.type1_date is not null
                     and (diabetes_types.type2_date is null or diabetes_types.type1_date > diabetes_types.type2_date)
                    then 'type1'
                when diabetes_types.type2_date is not null
                     and (diabetes_types.type1_date is null or diabetes_types.type2_date > diabetes_types.type1_date)
                    then 'type2'
                else 'other'
            end
    end as register_detail
from all_registers
left join diabetes_types
    on all_registers.person_id = diabetes_types.person_id
