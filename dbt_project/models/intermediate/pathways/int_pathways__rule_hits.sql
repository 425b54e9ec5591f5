-- Eclipse-style pathways (clinical spec, "Eclipse-style pathways"): who is on each pathway, and every Red / Amber
-- rule that fired for them, with the reason in words a clinician reads ("BP 168/96 on 2026-09-14, at or above
-- 180/120"). Grain: person x pathway x rule; an `eligible` row (rule_id null) puts the person on the pathway,
-- so a person with no rule fired is Green in marts.pathway_status. Rule ids, their RAG, priority and next action
-- are seeds/pathway_rules.csv; every threshold is read from seeds/thresholds.csv.
{%- set bp = dbt.concat(["'BP '", text_number('last_bp_systolic'), "'/'", text_number('last_bp_diastolic'),
                         "' on '", text_date('last_bp_date')]) %}
{%- set no_bp = dbt.concat(["'no BP recorded in 12 months'",
                            "case when last_bp_date is null then '' else " ~ dbt.concat(["' (last '", text_date('last_bp_date'), "')'"]) ~ " end"]) %}
{%- set hba1c = dbt.concat(["'HbA1c '", text_number('hba1c_value'), "' mmol/mol on '", text_date('hba1c_date')]) %}
{%- set egfr = dbt.concat(["'eGFR '", text_number('egfr_value'), "' on '", text_date('egfr_date')]) %}
{%- set admissions = dbt.concat([text_number('emergency_admissions_12m'), "' emergency admissions in 12 months'"]) %}
{%- set no_medication_review = dbt.concat(["'no medication review in 12 months'",
                                           "case when last_medication_review_date is null then '' else " ~ dbt.concat(["' (last '", text_date('last_medication_review_date'), "')'"]) ~ " end"]) %}
{%- set waiting = dbt.concat(["'waiting '", text_number('longest_rtt_wait_days / 7', 0), "' weeks'"]) %}
{%- set eligibility = {
    'hypertension': 'is_on_hypertension_register',
    'diabetes': 'is_on_diabetes_register',
    'copd': 'is_on_copd_register',
    'asthma': 'is_on_asthma_register',
    'af': 'is_on_af_register',
    'ckd': 'is_on_ckd_register',
    'heart_failure': 'is_on_heart_failure_register',
    'chd_stroke': 'is_on_chd_register or is_on_stroke_tia_register',
    'smi': 'is_on_smi_register',
    'complex_multimorbidity': 'condition_register_count >= ' ~ threshold_int('complex_multimorbidity_registers'),
    'frailty': 'is_moderately_or_severely_frail',
    'high_intensity_use': 'ae_attendances_12m >= ' ~ threshold_int('high_intensity_ae'),
    'polypharmacy': 'is_polypharmacy',
    'palliative': 'is_on_palliative_register',
    'care_home': 'has_open_residential_or_nursing_care',
    'waiting_well': 'longest_rtt_wait_days > 7 * ' ~ threshold('waiting_well_weeks')
                    ~ ' and (reversible_factor_count >= 1 or is_moderately_or_severely_frail)',
} %}
{#- (pathway, rule_id, condition, reason): the condition is tested only for people on the pathway. -#}
{%- set rules = [
    ('hypertension', 'htn_bp_severe', 'latest_severe_bp_date is not null',
        dbt.concat(["'BP '", text_number('latest_severe_bp_systolic'), "'/'", text_number('latest_severe_bp_diastolic'),
                    "' on '", text_date('latest_severe_bp_date'), "', at or above '", text_number(threshold('htn_red_sbp')),
                    "'/'", text_number(threshold('htn_red_dbp'))])),
    ('hypertension', 'htn_bp_high_repeat', 'bp_high_readings_12m >= ' ~ threshold_int('htn_red_repeat_count'),
        dbt.concat([text_number('bp_high_readings_12m'), "' readings at or above '", text_number(threshold('htn_red_repeat_sbp')),
                    "'/'", text_number(threshold('htn_red_repeat_dbp')), "' in 12 months'"])),
    ('hypertension', 'htn_no_bp_12m', 'not has_bp_12m', no_bp),
    ('hypertension', 'htn_bp_not_at_target', 'has_bp_12m and not is_bp_at_htn_target',
        dbt.concat([bp, "', above the target '", text_number('htn_target_sbp'), "'/'", text_number('htn_target_dbp')])),
    ('diabetes', 'dm_hba1c_very_high', 'hba1c_value > ' ~ threshold('dm_red_hba1c'),
        dbt.concat([hba1c, "', above '", text_number(threshold('dm_red_hba1c'))])),
    ('diabetes', 'dm_egfr_low', 'egfr_value < ' ~ threshold('dm_red_egfr'),
        dbt.concat([egfr, "', below '", text_number(threshold('dm_red_egfr'))])),
    ('diabetes', 'dm_no_hba1c_15m', 'not hba1c_recorded_15m',
        dbt.concat(["'no HbA1c recorded in 15 months'",
                    "case when hba1c_date is null then '' else " ~ dbt.concat(["' (last '", text_date('hba1c_date'), "')'"]) ~ " end"])),
    ('diabetes', 'dm_care_processes_incomplete', 'diabetes_care_processes_12m < ' ~ threshold_int('dm_care_processes_required'),
        dbt.concat([text_number('diabetes_care_processes_12m'), "' of 8 care processes in 12 months (missing: '",
                    join_non_null(["case when not hba1c_recorded_12m then 'HbA1c' end",
                                   "case when not bp_recorded_12m then 'BP' end",
                                   "case when not cholesterol_recorded_12m then 'cholesterol' end",
                                   "case when not renal_function_recorded_12m then 'eGFR/creatinine' end",
                                   "case when not urine_acr_recorded_12m then 'urine ACR' end",
                                   "case when not foot_check_recorded_12m then 'foot check' end",
                                   "case when not bmi_recorded_12m then 'BMI' end",
                                   "case when not smoking_status_recorded_12m then 'smoking status' end"], "', '"),
                    "')'"])),
    ('diabetes', 'dm_hba1c_above_target',
        'hba1c_value > ' ~ threshold('dm_target_hba1c') ~ ' and hba1c_value <= ' ~ threshold('dm_red_hba1c'),
        dbt.concat([hba1c, "', above the target '", text_number(threshold('dm_target_hba1c'))])),
    ('diabetes', 'dm_bp_above_target',
        'has_bp_12m and (last_bp_systolic > ' ~ threshold('dm_target_sbp') ~ ' or last_bp_diastolic > ' ~ threshold('dm_target_dbp') ~ ')',
        dbt.concat([bp, "', above the target '", text_number(threshold('dm_target_sbp')), "'/'", text_number(threshold('dm_target_dbp'))])),
    ('diabetes', 'dm_no_statin', 'age >= ' ~ threshold_int('dm_statin_min_age') ~ ' and not has_statin_6m',
        dbt.concat(["'aged '", text_number('age'), "', no statin issued in 6 months'"])),
    ('copd', 'copd_repeat_admissions', 'copd_emergency_admissions_12m >= ' ~ threshold_int('copd_red_admissions'),
        dbt.concat([text_number('copd_emergency_admissions_12m'), "' emergency COPD admissions in 12 months'"])),
    ('copd', 'copd_no_flu_vaccination', 'not coalesce(has_flu_vaccination_this_season, false)',
        dbt.concat(["'no flu vaccination this season (since '", text_date('flu_season_start_date'), "')'"])),
    ('copd', 'copd_no_review', 'not has_copd_review_12m',
        dbt.concat(["'no COPD review in 12 months'",
                    "case when last_copd_review_date is null then '' else " ~ dbt.concat(["' (last '", text_date('last_copd_review_date'), "')'"]) ~ " end"])),
    ('asthma', 'asthma_saba_very_high', 'saba_issues_12m >= ' ~ threshold_int('saba_red_count'),
        dbt.concat([text_number('saba_issues_12m'), "' reliever (SABA) issues in 12 months'"])),
    ('asthma', 'asthma_admission', 'asthma_emergency_admissions_12m >= ' ~ threshold_int('asthma_red_admissions'),
        dbt.concat([text_number('asthma_emergency_admissions_12m'), "' emergency asthma admission(s) in 12 months'"])),
    ('asthma', 'asthma_saba_high',
        'saba_issues_12m >= ' ~ threshold_int('saba_overuse_count') ~ ' and saba_issues_12m < ' ~ threshold_int('saba_red_count'),
        dbt.concat([text_number('saba_issues_12m'), "' reliever (SABA) issues in 12 months'"])),
    ('asthma', 'asthma_no_ics', 'not has_ics_12m', "'no preventer (inhaled corticosteroid) issued in 12 months'"),
    ('af', 'af_not_anticoagulated',
        'cha2ds2_vasc_value >= ' ~ threshold('af_cha2ds2vasc') ~ ' and not has_oral_anticoagulant_6m',
        dbt.concat(["'CHA2DS2-VASc '", text_number('cha2ds2_vasc_value'), "' on '", text_date('cha2ds2_vasc_date'),
                    "', no oral anticoagulant issued in 6 months'"])),
    ('af', 'af_no_score', 'cha2ds2_vasc_value is null', "'no CHA2DS2-VASc score recorded'"),
    ('ckd', 'ckd_egfr_very_low', 'egfr_value < ' ~ threshold('ckd_red_egfr'),
        dbt.concat([egfr, "', below '", text_number(threshold('ckd_red_egfr'))])),
    ('ckd', 'ckd_no_acr_12m', 'not urine_acr_recorded_12m', "'no urine ACR in 12 months'"),
    ('ckd', 'ckd_bp_above_target',
        'not has_bp_12m or not (last_bp_systolic < ckd_target_sbp and last_bp_diastolic < ckd_target_dbp)',
        'case when not has_bp_12m then ' ~ no_bp ~ ' else '
            ~ dbt.concat([bp, "', not below '", text_number('ckd_target_sbp'), "'/'", text_number('ckd_target_dbp'),
                          "case when has_high_acr then " ~ dbt.concat(["' (ACR '", text_number('urine_acr_value', 1), "')'"]) ~ " else '' end"])
            ~ ' end'),
    ('ckd', 'ckd_no_statin', 'not has_statin_6m', "'no statin issued in 6 months'"),
    ('heart_failure', 'hf_admission', 'heart_failure_emergency_admissions_12m >= ' ~ threshold_int('hf_red_admissions'),
        dbt.concat([text_number('heart_failure_emergency_admissions_12m'), "' emergency heart failure admission(s) in 12 months'"])),
    ('heart_failure', 'hf_no_acei_arb', 'not has_acei_or_arb_6m', "'no ACE inhibitor, ARB or ARNI issued in 6 months'"),
    ('heart_failure', 'hf_no_beta_blocker', 'not has_beta_blocker_6m', "'no beta-blocker issued in 6 months'"),
    ('chd_stroke', 'cvd_no_statin', 'not has_statin_6m', "'no statin issued in 6 months'"),
    ('chd_stroke', 'cvd_no_antithrombotic', 'not (has_antiplatelet_6m or has_oral_anticoagulant_6m)',
        "'no antiplatelet or anticoagulant issued in 6 months'"),
    ('chd_stroke', 'cvd_bp_above_target',
        'not has_bp_12m or last_bp_systolic > ' ~ threshold('chd_stroke_bp_sbp') ~ ' or last_bp_diastolic > ' ~ threshold('chd_stroke_bp_dbp'),
        'case when not has_bp_12m then ' ~ no_bp ~ ' else '
            ~ dbt.concat([bp, "', above '", text_number(threshold('chd_stroke_bp_sbp')), "'/'", text_number(threshold('chd_stroke_bp_dbp'))])
            ~ ' end'),
    ('smi', 'smi_health_check_incomplete', 'not has_smi_health_check',
        dbt.concat(["'SMI physical health check incomplete (missing: '",
                    join_non_null(["case when not smi_hc_bmi_12m then 'BMI' end",
                                   "case when not smi_hc_bp_12m then 'BP' end",
                                   "case when not smi_hc_cholesterol_12m then 'cholesterol' end",
                                   "case when not smi_hc_glycaemia_12m then 'HbA1c/glucose' end",
                                   "case when not smi_hc_smoking_12m then 'smoking status' end",
                                   "case when not smi_hc_alcohol_12m then 'alcohol' end"], "', '"),
                    "')'"])),
    ('complex_multimorbidity', 'complex_repeat_admissions', 'emergency_admissions_12m >= ' ~ threshold_int('hru_red_emergency_admissions'),
        dbt.concat([text_number('condition_register_count'), "' long-term conditions, '", admissions])),
    ('complex_multimorbidity', 'complex_no_medication_review', 'not has_medication_review_12m',
        dbt.concat([text_number('condition_register_count'), "' long-term conditions, '", no_medication_review])),
    ('frailty', 'frailty_repeat_admissions', 'emergency_admissions_12m >= ' ~ threshold_int('hru_red_emergency_admissions'),
        dbt.concat(['frailty_severity', "' frailty, '", admissions])),
    ('frailty', 'frailty_no_medication_review', 'not has_medication_review_12m',
        dbt.concat(['frailty_severity', "' frailty, '", no_medication_review])),
    ('high_intensity_use', 'hiu_very_high', 'ae_attendances_12m >= ' ~ threshold_int('high_intensity_ae_very_high'),
        dbt.concat([text_number('ae_attendances_12m'), "' A&E attendances in 12 months'"])),
    ('high_intensity_use', 'hiu_high', 'ae_attendances_12m < ' ~ threshold_int('high_intensity_ae_very_high'),
        dbt.concat([text_number('ae_attendances_12m'), "' A&E attendances in 12 months'"])),
    ('polypharmacy', 'polypharmacy_no_medication_review', 'not has_medication_review_12m',
        dbt.concat([text_number('distinct_medicines_6m'), "' distinct medicines in 6 months, '", no_medication_review])),
    ('palliative', 'palliative_repeat_admissions', 'emergency_admissions_12m >= ' ~ threshold_int('hru_red_emergency_admissions'),
        dbt.concat(["'palliative care register, '", admissions])),
    ('palliative', 'palliative_no_medication_review', 'not has_medication_review_12m',
        dbt.concat(["'palliative care register, '", no_medication_review])),
    ('care_home', 'care_home_repeat_admissions', 'emergency_admissions_12m >= ' ~ threshold_int('hru_red_emergency_admissions'),
        dbt.concat(["'care home resident, '", admissions])),
    ('care_home', 'care_home_no_medication_review', 'not has_medication_review_12m',
        dbt.concat(["'care home resident, '", no_medication_review])),
    ('waiting_well', 'waiting_well_over_52_weeks', 'longest_rtt_wait_days > 7 * ' ~ threshold('waiting_well_red_weeks'),
        dbt.concat([waiting, "' for elective treatment, over '", text_number(threshold('waiting_well_red_weeks')), "' weeks'"])),
    ('waiting_well', 'waiting_well_risk_factors', 'true',
        dbt.concat([waiting, "' for elective treatment with: '",
                    join_non_null(['factor_reasons_or_null',
                                   "case when is_moderately_or_severely_frail then " ~ dbt.concat(['frailty_severity', "' frailty'"]) ~ " end"],
                                  "'; '")])),
] %}
with facts as (
    select
        facts.*,
        coalesce(risk.reversible_factor_count, 0) as reversible_factor_count,
        case when risk.factor_reasons = '' then null else risk.factor_reasons end as factor_reasons_or_null,
        coalesce(facts.urine_acr_value >= {{ threshold('ckd_high_acr') }}, false) as has_high_acr,
        case when coalesce(facts.urine_acr_value >= {{ threshold('ckd_high_acr') }}, false)
             then {{ threshold('ckd_target_sbp_high_acr') }} else {{ threshold('ckd_target_sbp') }} end as ckd_target_sbp,
        case when coalesce(facts.urine_acr_value >= {{ threshold('ckd_high_acr') }}, false)
             then {{ threshold('ckd_target_dbp_high_acr') }} else {{ threshold('ckd_target_dbp') }} end as ckd_target_dbp
    from {{ ref('int_pathways__person_facts') }} as facts
    left join {{ ref('reversible_risk') }} as risk
        on facts.person_id = risk.person_id
)

{% for pathway, condition in eligibility.items() -%}
select
    person_id,
    cast('{{ pathway }}' as {{ dbt.type_string() }}) as pathway,
    cast(null as {{ dbt.type_string() }}) as rule_id,
    cast(null as {{ dbt.type_string() }}) as reason
from facts
where {{ condition }}

union all

{% endfor -%}
{% for pathway, rule_id, condition, reason in rules -%}
select
    person_id,
    cast('{{ pathway }}' as {{ dbt.type_string() }}) as pathway,
    cast('{{ rule_id }}' as {{ dbt.type_string() }}) as rule_id,
    cast({{ reason }} as {{ dbt.type_string() }}) as reason
from facts
where ({{ eligibility[pathway] }})
  and coalesce({{ condition }}, false)
{% if not loop.last %}
union all

{% endif -%}
{%- endfor %}
