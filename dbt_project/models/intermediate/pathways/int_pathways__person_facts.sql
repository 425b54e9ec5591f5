-- One wide row per registered person with every fact the reversible-risk factors, the pathways and the target
-- lists test (clinical spec, "Reversible risk", "Eclipse-style pathways"): registers, latest values, care
-- processes, medication exposure, 12-month utilisation and the risk score. No rule is decided here: hypertension
-- treated to target (and the target that applies: age, clinic or home reading) is int_clinical__latest_values'
-- decision, which Core20PLUS5 5a reads too, so a pathway, a risk factor and the indicator can never disagree.
with population as (
    select
        person_id,
        practice_code,
        neighbourhood,
        age,
        age_band,
        ethnicity_group,
        uses_lower_bmi_thresholds,
        has_type1_opt_out
    from {{ ref('int_person__registered_population') }}
),

severe_bp as (
    -- The reading behind "BP >= 180/120": the latest severe day in the window.
    select latest.person_id, readings.systolic, readings.diastolic
    from {{ ref('int_clinical__latest_values') }} as latest
    inner join {{ ref('int_clinical__bp_readings_all') }} as readings
        on latest.person_id = readings.person_id
        and latest.latest_severe_bp_date = readings.bp_date
)

select
    population.person_id,
    population.practice_code,
    population.neighbourhood,
    population.age,
    population.age_band,
    population.ethnicity_group,
    population.uses_lower_bmi_thresholds,
    population.has_type1_opt_out,
    population.age >= {{ threshold_int('adult_min_age') }} as is_adult,
    {%- for register in phm.condition_registers() %}
    registers.is_on_{{ register }}_register,
    {%- endfor %}
    registers.frailty_severity,
    registers.is_moderately_or_severely_frail,
    registers.condition_register_count,
    -- Blood pressure
    latest.last_bp_date,
    latest.last_bp_systolic,
    latest.last_bp_diastolic,
    latest.has_bp_12m,
    latest.bp_severe_readings_12m,
    latest.latest_severe_bp_date,
    severe_bp.systolic as latest_severe_bp_systolic,
    severe_bp.diastolic as latest_severe_bp_diastolic,
    latest.bp_high_readings_12m,
    latest.has_raised_bp_12m,
    latest.latest_raised_bp_date,
    latest.latest_raised_bp_systolic,
    latest.latest_raised_bp_diastolic,
    latest.last_bp_is_home_or_ambulatory,
    latest.htn_target_sbp,
    latest.htn_target_dbp,
    coalesce(latest.is_bp_at_htn_target, false) as is_bp_at_htn_target,
    -- Other latest values
    latest.hba1c_value,
    latest.hba1c_date,
    latest.egfr_value,
    latest.egfr_date,
    latest.urine_acr_value,
    latest.urine_acr_date,
    latest.qrisk_value,
    latest.qrisk_date,
    latest.cha2ds2_vasc_value,
    latest.cha2ds2_vasc_date,
    latest.bmi_value,
    latest.bmi_date,
    latest.smoking_status,
    latest.smoking_status_date,
    -- Care processes
    care.diabetes_care_processes_12m,
    care.hba1c_recorded_12m,
    care.bp_recorded_12m,
    care.cholesterol_recorded_12m,
    care.renal_function_recorded_12m,
    care.urine_acr_recorded_12m,
    care.foot_check_recorded_12m,
    care.bmi_recorded_12m,
    care.smoking_status_recorded_12m,
    care.hba1c_recorded_15m,
    care.smi_hc_bmi_12m,
    care.smi_hc_bp_12m,
    care.smi_hc_cholesterol_12m,
    care.smi_hc_glycaemia_12m,
    care.smi_hc_smoking_12m,
    care.smi_hc_alcohol_12m,
    coalesce(flags.smi_health_check_numerator, false) as has_smi_health_check,
    care.has_flu_vaccination_this_season,
    care.flu_season_start_date,
    care.has_copd_review_12m,
    care.last_copd_review_date,
    care.has_medication_review_12m,
    care.last_medication_review_date,
    -- Medicines
    medication.last_lipid_lowering_issue_date,
    coalesce({{ in_lookback('llt_lookback_months', 'medication.last_lipid_lowering_issue_date') }}, false)
        as has_llt_6m,
    medication.last_oral_anticoagulant_issue_date,
    coalesce({{ in_lookback('anticoagulant_lookback_months', 'medication.last_oral_anticoagulant_issue_date') }}, false)
        as has_oral_anticoagulant_6m,
    medication.statin_issues_6m > 0 as has_statin_6m,
    medication.antiplatelet_issues_6m > 0 as has_antiplatelet_6m,
    (medication.ace_inhibitor_issues_6m > 0 or medication.arb_issues_6m > 0) as has_acei_or_arb_6m,
    medication.beta_blocker_issues_6m > 0 as has_beta_blocker_6m,
    medication.saba_issues_12m,
    coalesce({{ in_lookback('ics_lookback_months', 'medication.last_ics_issue_date') }}, false) as has_ics_12m,
    medication.distinct_medicines_6m,
    medication.is_polypharmacy,
    -- Use of services in the last 12 months and what is open now
    coalesce(utilisation.emergency_admissions_12m, 0) as emergency_admissions_12m,
    coalesce(utilisation.ae_attendances_12m, 0) as ae_attendances_12m,
    coalesce(utilisation.bed_days_12m, 0) as bed_days_12m,
    coalesce(utilisation.copd_emergency_admissions_12m, 0) as copd_emergency_admissions_12m,
    coalesce(utilisation.asthma_emergency_admissions_12m, 0) as asthma_emergency_admissions_12m,
    coalesce(utilisation.heart_failure_emergency_admissions_12m, 0) as heart_failure_emergency_admissions_12m,
    coalesce(utilisation.open_social_care_services, 0) as open_social_care_services,
    coalesce(utilisation.has_open_residential_or_nursing_care, false) as has_open_residential_or_nursing_care,
    coalesce(utilisation.open_rtt_pathways, 0) as open_rtt_pathways,
    utilisation.longest_rtt_wait_days,
    -- Risk of unplanned care
    scores.risk_score,
    scores.risk_rank,
    scores.risk_tier,
    scores.risk_tier_order,
    scores.score_breakdown
from population
left join {{ ref('int_clinical__register_flags') }} as registers
    on population.person_id = registers.person_id
left join {{ ref('int_clinical__latest_values') }} as latest on population.person_id = latest.person_id
left join severe_bp on population.person_id = severe_bp.person_id
left join {{ ref('int_clinical__care_processes') }} as care on population.person_id = care.person_id
left join {{ ref('int_clinical__medication_exposure') }} as medication on population.person_id = medication.person_id
left join {{ ref('int_activity__utilisation_12m') }} as utilisation on population.person_id = utilisation.person_id
left join {{ ref('int_indicators__person_flags') }} as flags on population.person_id = flags.person_id
left join {{ ref('int_risk__scores') }} as scores on population.person_id = scores.person_id
