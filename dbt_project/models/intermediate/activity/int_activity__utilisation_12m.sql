-- Health and care use per linked person in the activity_lookback_months window before the reference date
-- ((reference date - 12 months, reference date]), plus what is open on the reference date (social care services,
-- RTT pathways). Rows unlinked to a person (no / unknown NHS number) are left out; activity after the reference
-- date is ignored. Grain: every registered person (zeros when no activity) plus any other linked person with
-- activity in the window or something open (is_registered false; e.g. an A&E attender registered elsewhere).
--   * Emergency spells: admission method 2x (21-28, 2A-2D); elective: 11-13 (code sets in seeds/code_sets.csv). Condition-specific emergency
--     admissions (COPD, asthma, heart failure): primary diagnosis in the hospital codelists (a 3-character code
--     in a list covers its category). Spells are counted by admission date in the window.
--   * Bed-days: days from admission to discharge (still in hospital: to the reference date) of spells admitted in
--     the window; a same-day spell is 0.
--   * Outpatients: attended = status 5 or 6, DNA = status 3. Community / mental health contacts: attended (5, 6)
--     (code sets attendance_status_attended / attendance_status_did_not_attend).
--   * Tooth extractions: any spell in the window with primary procedure OPCS-4 F09 or F10, aged
--     <= cyp_oral_health_max_age at admission (date of birth from the registration; registered persons only).
with registered as (
    select person_id, date_of_birth
    from {{ ref('int_person__registered_population') }}
),

ae as (
    select person_id, count(*) as ae_attendances_12m
    from {{ ref('stg_ecds_attendances') }}
    where is_linked
      and {{ in_lookback('activity_lookback_months', 'arrival_date') }}
    group by person_id
),

spells as (
    select
        spell_id,
        person_id,
        admission_date,
        primary_diagnosis_icd10_code,
        primary_procedure_opcs4_code,
        coalesce({{ in_code_set('admission_method_emergency', 'admission_method_code') }}, false) as is_emergency,
        coalesce({{ in_code_set('admission_method_elective', 'admission_method_code') }}, false) as is_elective,
        {{ dbt.datediff('admission_date',
                        'case when discharge_date is null or discharge_date > ' ~ reference_date()
                        ~ ' then ' ~ reference_date() ~ ' else discharge_date end',
                        'day') }} as bed_days
    from {{ ref('stg_sus_apc_spells') }}
    where is_linked
      and {{ in_lookback('activity_lookback_months', 'admission_date') }}
),

hospital_codes as (
    select distinct concept, code
    from {{ ref('int_reference__concept_codes') }}
    where role = 'hospital'
      and concept in ({{ concepts('copd_admission', 'asthma_admission', 'heart_failure_admission') }})
),

emergency_spell_conditions as (
    select
        spells.spell_id,
        max(case when hospital_codes.concept = {{ concept('copd_admission') }} then 1 else 0 end) as is_copd,
        max(case when hospital_codes.concept = {{ concept('asthma_admission') }} then 1 else 0 end) as is_asthma,
        max(case when hospital_codes.concept = {{ concept('heart_failure_admission') }} then 1 else 0 end) as is_heart_failure
    from spells
    inner join hospital_codes
        on {{ icd10_matches('spells.primary_diagnosis_icd10_code', 'hospital_codes.code') }}
    where spells.is_emergency
    group by spells.spell_id
),

spell_summary as (
    select
        spells.person_id,
        sum(case when spells.is_emergency then 1 else 0 end) as emergency_admissions_12m,
        sum(case when spells.is_elective then 1 else 0 end) as elective_admissions_12m,
        sum(spells.bed_days) as bed_days_12m,
        sum(case when spells.is_emergency then spells.bed_days else 0 end) as emergency_bed_days_12m,
        sum(coalesce(conditions.is_copd, 0)) as copd_emergency_admissions_12m,
        sum(coalesce(conditions.is_asthma, 0)) as asthma_emergency_admissions_12m,
        sum(coalesce(conditions.is_heart_failure, 0)) as heart_failure_emergency_admissions_12m,
        sum(
            case
                when {{ in_code_set('opcs_tooth_extraction', 'spells.primary_procedure_opcs4_code') }}
                 and {{ age_in_years('registered.date_of_birth', 'spells.admission_date') }}
                     <= {{ threshold_int('cyp_oral_health_max_age') }}
                then 1 else 0
            end
        ) as cyp_tooth_extraction_admissions_12m
    from spells
    left join emergency_spell_conditions as conditions
        on spells.spell_id = conditions.spell_id
    left join registered
        on spells.person_id = registered.person_id
    group by spells.person_id
),

outpatients as (
    select
        person_id,
        sum(case when {{ in_code_set('attendance_status_attended', 'attendance_status_code') }} then 1 else 0 end)
            as outpatient_attendances_12m,
        sum(case when {{ in_code_set('attendance_status_did_not_attend', 'attendance_status_code') }} then 1 else 0 end)
            as outpatient_dnas_12m
    from {{ ref('stg_sus_op_appointments') }}
    where is_linked
      and {{ in_lookback('activity_lookback_months', 'appointment_date') }}
    group by person_id
),

community as (
    select
        person_id,
        sum(case when {{ in_code_set('attendance_status_attended', 'attendance_status_code') }} then 1 else 0 end)
            as community_contacts_12m,
        sum(case when {{ in_code_set('attendance_status_attended', 'attendance_status_code') }}
                  and {{ in_code_set('csds_team_epilepsy_nursing', 'team_type') }}
                 then 1 else 0 end) as epilepsy_specialist_contacts_12m
    from {{ ref('stg_csds_contacts') }}
    where is_linked
      and {{ in_lookback('activity_lookback_months', 'contact_date') }}
    group by person_id
),

mental_health as (
    select
        person_id,
        sum(case when {{ in_code_set('attendance_status_attended', 'attendance_status_code') }} then 1 else 0 end)
            as mental_health_contacts_12m,
        sum(case when {{ in_code_set('attendance_status_attended', 'attendance_status_code') }}
                  and {{ in_code_set('mhsds_service_cyp_mental_health', 'service_type') }}
                 then 1 else 0 end) as cyp_mental_health_contacts_12m
    from {{ ref('stg_mhsds_contacts') }}
    where is_linked
      and {{ in_lookback('activity_lookback_months', 'contact_date') }}
    group by person_id
),

social_care as (
    select
        person_id,
        count(*) as open_social_care_services,
        max(case when {{ in_code_set('asc_service_care_home', 'service_type') }} then 1 else 0 end) as has_residential_or_nursing
    from {{ ref('stg_asc_services') }}
    where is_linked
      and service_start_date <= {{ reference_date() }}
      and (service_end_date is null or service_end_date > {{ reference_date() }})
    group by person_id
),

waiting_list as (
    select
        person_id,
        count(*) as open_rtt_pathways,
        {{ dbt.datediff('min(clock_start_date)', reference_date(), 'day') }} as longest_rtt_wait_days
    from {{ ref('stg_rtt_waiting_list') }}
    where is_linked
      and clock_start_date <= {{ reference_date() }}
    group by person_id
),

people as (
    select person_id from registered
    union
    select person_id from ae
    union
    select person_id from spell_summary
    union
    select person_id from outpatients
    union
    select person_id from community
    union
    select person_id from mental_health
    union
    select person_id from social_care
    union
    select person_id from waiting_list
)

select
    people.person_id,
    registered.person_id is not null as is_registered,
    coalesce(ae.ae_attendances_12m, 0) as ae_attendances_12m,
    coalesce(spell_summary.emergency_admissions_12m, 0) as emergency_admissions_12m,
    coalesce(spell_summary.elective_admissions_12m, 0) as elective_admissions_12m,
    coalesce(spell_summary.bed_days_12m, 0) as bed_days_12m,
    coalesce(spell_summary.emergency_bed_days_12m, 0) as emergency_bed_days_12m,
    coalesce(spell_summary.copd_emergency_admissions_12m, 0) as copd_emergency_admissions_12m,
    coalesce(spell_summary.asthma_emergency_admissions_12m, 0) as asthma_emergency_admissions_12m,
    coalesce(spell_summary.heart_failure_emergency_admissions_12m, 0) as heart_failure_emergency_admissions_12m,
    coalesce(spell_summary.cyp_tooth_extraction_admissions_12m, 0) as cyp_tooth_extraction_admissions_12m,
    coalesce(outpatients.outpatient_attendances_12m, 0) as outpatient_attendances_12m,
    coalesce(outpatients.outpatient_dnas_12m, 0) as outpatient_dnas_12m,
    coalesce(community.community_contacts_12m, 0) as community_contacts_12m,
    coalesce(community.epilepsy_specialist_contacts_12m, 0) as epilepsy_specialist_contacts_12m,
    coalesce(mental_health.mental_health_contacts_12m, 0) as mental_health_contacts_12m,
    coalesce(mental_health.cyp_mental_health_contacts_12m, 0) as cyp_mental_health_contacts_12m,
    coalesce(social_care.open_social_care_services, 0) as open_social_care_services,
    coalesce(social_care.has_residential_or_nursing, 0) = 1 as has_open_residential_or_nursing_care,
    coalesce(waiting_list.open_rtt_pathways, 0) as open_rtt_pathways,
    waiting_list.longest_rtt_wait_days,
    {{ reference_date() }} as reference_date
from people
left join registered on people.person_id = registered.person_id
left join ae on people.person_id = ae.person_id
left join spell_summary on people.person_id = spell_summary.person_id
left join outpatients on people.person_id = outpatients.person_id
left join community on people.person_id = community.person_id
left join mental_health on people.person_id = mental_health.person_id
left join social_care on people.person_id = social_care.person_id
left join waiting_list on people.person_id = waiting_list.person_id
