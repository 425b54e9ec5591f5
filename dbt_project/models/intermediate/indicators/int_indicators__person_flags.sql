-- Core20PLUS5 per registered person on the reference date (clinical spec, Core20PLUS5): Core20, the PLUS groups,
-- and for every indicator a denominator flag and a numerator flag (numerator implies denominator), plus the
-- counts of spell- and tumour-counted indicators. Type 1 opt-outs are kept (direct-care lists); every aggregate
-- excludes them. Rules, all thresholds from seeds/thresholds.csv:
--   * adult indicators need age >= adult_min_age (the spec: "adults 18+ unless stated"); CYP ones age <= cyp_max_age.
--   * maternity_booking_10wk (clinical spec v2): women (sex Female) of any age with an antenatal booking in
--     antenatal_lookback_months; numerator: the latest booking records a gestation <= maternity_gestation_days
--     (a value in weeks converted to days: int_clinical__care_processes).
--   * smi_health_check: SMI register; numerator: >= smi_health_check_elements of the 6 elements in 12 months
--     (glycaemia = HbA1c or blood glucose; alcohol = any consumption record: int_clinical__care_processes).
--   * copd_flu_vaccination: COPD register; numerator: flu vaccination in the current season.
--   * copd_emergency_admissions: COPD register; numerator count: emergency COPD spells in 12 months of those people
--     (spells of people not on the register are not counted: the rate is per 1,000 on the register).
--   * cancer_early_stage: tumours in int_indicators__cancer_tumours; denominator = has a staged tumour, numerator =
--     has an early-stage tumour (the aggregate counts tumours); unstaged tumours are counted apart.
--   * htn_treated_to_target (CVDP007HYP, QOF HYP008/009): hypertension register; numerator =
--     int_clinical__latest_values.is_bp_at_htn_target (the one place the decision is made: last BP in 12 months at
--     or below 140/90, 150/90 at 80+, 135/85 and 145/85 for home / daytime ambulatory averages; no BP = not).
--   * htn_case_finding: age >= htn_case_finding_min_age, not on the hypertension register; numerator: a BP in
--     bp_case_finding_lookback_years.
--   * lipids_*: established CVD = CHD, stroke/TIA or PAD register. lipids_on_llt: no CVD and latest QRISK >=
--     lipid_qrisk; lipids_qrisk20_on_llt: no CVD and QRISK >= lipid_qrisk_high; lipids_cvd_on_llt: CVD.
--     Numerator: lipid-lowering therapy issued in llt_lookback_months.
--   * cyp_asthma_*: 0-17 with an active asthma diagnosis (no register minimum age; int_clinical__diagnoses_latest)
--     AND an asthma medicine issued in the last 12 months (QOF AST005, as the asthma register: clinical spec v2).
--     Reliever over-reliance: >= saba_overuse_count SABA issues in 12 months; no preventer: no ICS issued in
--     ics_lookback_months.
--   * cyp_diabetes_hba1c_recorded: 0-17 with an active diabetes diagnosis (the diabetes register starts at 17, so
--     the diagnosis is read directly, as for asthma); numerator: a plausible HbA1c in 12 months.
--   * cyp_epilepsy_specialist_contact: 0-17 on the epilepsy register; numerator: an attended epilepsy specialist
--     nursing contact in 12 months.
--   * cyp_oral_health_extraction: children aged <= cyp_oral_health_max_age (0-10), plus any child whose
--     extraction in the window was at <= 10 and who has turned 11 since (so every counted spell has its child in
--     the denominator); numerator count: tooth extraction spells aged <= 10 at admission in 12 months.
--   * cyp_mental_health_contact: aged 0-17; numerator: an attended CYP mental health contact in 12 months.
--   * ld_health_check: learning disability register aged >= ld_health_check_min_age (14); numerator: an annual
--     health check code in ld_health_check_lookback_months (12).
--   * Core20: IMD decile <= core20_imd_decile_max (unknown LSOA: not Core20). PLUS: ethnic minority = 5-group not
--     White (Not stated / Not recorded are not a minority) or White non-British (B, C); inclusion health =
--     homeless, Gypsy/Roma/Traveller or asylum seeker/refugee ever coded; LD and/or autism register; SMI register;
--     veteran; carer.
{#- one pair of flags per indicator of seeds/indicator_definitions.csv (macros/indicators.sql) -#}
{%- set indicator_ids = indicator_ids() %}
{%- set registers = ['hypertension', 'copd', 'smi', 'chd', 'stroke_tia', 'pad', 'epilepsy', 'learning_disability',
                     'autism'] %}
with population as (
    select
        person_id,
        age,
        sex,
        ethnicity_group,
        is_white_non_british,
        imd_decile,
        imd_version,
        has_type1_opt_out
    from {{ ref('int_person__registered_population') }}
),

registers as (
    select * from {{ ref('int_clinical__register_flags') }}
),

cyp_diagnoses as (
    -- Active diagnoses with no register minimum age, for children; asthma also needs an asthma medicine in 12 months.
    select
        diagnoses.person_id,
        max(case when diagnoses.concept = {{ concept('asthma') }} and medication.has_asthma_medicine_12m
                 then 1 else 0 end) = 1 as has_active_asthma,
        max(case when diagnoses.concept = {{ concept('diabetes') }} then 1 else 0 end) = 1 as has_active_diabetes
    from {{ ref('int_clinical__diagnoses_latest') }} as diagnoses
    left join {{ ref('int_clinical__medication_exposure') }} as medication
        on diagnoses.person_id = medication.person_id
    where diagnoses.is_active
      and diagnoses.concept in ({{ concepts('asthma', 'diabetes') }})
    group by diagnoses.person_id
),

tumours as (
    select
        person_id,
        sum(case when is_staged then 1 else 0 end) as staged_tumours,
        sum(case when is_early_stage then 1 else 0 end) as early_stage_tumours,
        sum(case when is_unstaged then 1 else 0 end) as unstaged_tumours
    from {{ ref('int_indicators__cancer_tumours') }}
    group by person_id
),

person as (
    select
        population.person_id,
        population.age,
        population.age >= {{ threshold_int('adult_min_age') }} as is_adult,
        population.age <= {{ threshold_int('cyp_max_age') }} as is_cyp,
        population.sex,
        population.ethnicity_group,
        population.is_white_non_british,
        population.imd_decile,
        population.imd_version,
        population.has_type1_opt_out,
        {%- for register in registers %}
        coalesce(registers.is_on_{{ register }}_register, false) as is_on_{{ register }}_register,
        {%- endfor %}
        coalesce(cyp_diagnoses.has_active_asthma, false) as has_active_asthma,
        coalesce(cyp_diagnoses.has_active_diabetes, false) as has_active_diabetes,
        coalesce(tumours.staged_tumours, 0) as staged_tumours,
        coalesce(tumours.early_stage_tumours, 0) as early_stage_tumours,
        coalesce(tumours.unstaged_tumours, 0) as unstaged_tumours,
        latest_values.has_bp_12m,
        latest_values.has_bp_5y,
        latest_values.last_bp_systolic,
        latest_values.last_bp_diastolic,
        latest_values.is_bp_at_htn_target,
        latest_values.qrisk_value,
        care_processes.antenatal_bookings_12m,
        coalesce(care_processes.is_antenatal_booked_by_10_weeks, false) as is_antenatal_booked_by_10_weeks,
        care_processes.smi_health_check_elements_12m,
        care_processes.has_flu_vaccination_this_season,
        care_processes.hba1c_recorded_12m,
        coalesce(care_processes.has_ld_health_check_12m, false) as has_ld_health_check_12m,
        coalesce({{ in_lookback('llt_lookback_months', 'medication.last_lipid_lowering_issue_date') }}, false)
            as has_llt_6m,
        medication.saba_issues_12m,
        coalesce({{ in_lookback('ics_lookback_months', 'medication.last_ics_issue_date') }}, false) as has_ics_12m,
        coalesce(utilisation.copd_emergency_admissions_12m, 0) as copd_emergency_admissions_12m,
        coalesce(utilisation.cyp_tooth_extraction_admissions_12m, 0) as cyp_tooth_extraction_admissions_12m,
        coalesce(utilisation.epilepsy_specialist_contacts_12m, 0) as epilepsy_specialist_contacts_12m,
        coalesce(utilisation.cyp_mental_health_contacts_12m, 0) as cyp_mental_health_contacts_12m,
        social.is_carer,
        social.is_homeless,
        social.is_veteran,
        social.is_asylum_refugee,
        social.is_gypsy_roma_traveller
    from population
    left join registers on population.person_id = registers.person_id
    left join cyp_diagnoses on population.person_id = cyp_diagnoses.person_id
    left join tumours on population.person_id = tumours.person_id
    left join {{ ref('int_clinical__latest_values') }} as latest_values
        on population.person_id = latest_values.person_id
    left join {{ ref('int_clinical__care_processes') }} as care_processes
        on population.person_id = care_processes.person_id
    left join {{ ref('int_clinical__medication_exposure') }} as medication
        on population.person_id = medication.person_id
    left join {{ ref('int_activity__utilisation_12m') }} as utilisation
        on population.person_id = utilisation.person_id
    left join {{ ref('int_clinical__social_flags') }} as social
        on population.person_id = social.person_id
),

denominators as (
    select
        person.*,
        (is_on_chd_register or is_on_stroke_tia_register or is_on_pad_register) as has_established_cvd,
        sex = 'Female' and antenatal_bookings_12m > 0 as maternity_booking_10wk_denominator,
        is_adult and is_on_smi_register as smi_health_check_denominator,
        is_adult and is_on_copd_register as copd_flu_vaccination_denominator,
        is_adult and is_on_copd_register as copd_emergency_admissions_denominator,
        is_adult and staged_tumours > 0 as cancer_early_stage_denominator,
        is_adult and is_on_hypertension_register as htn_treated_to_target_denominator,
        age >= {{ threshold_int('htn_case_finding_min_age') }} and not is_on_hypertension_register
            as htn_case_finding_denominator,
        is_adult
            and not (is_on_chd_register or is_on_stroke_tia_register or is_on_pad_register)
            and coalesce(qrisk_value >= {{ threshold('lipid_qrisk') }}, false) as lipids_on_llt_denominator,
        is_adult
            and not (is_on_chd_register or is_on_stroke_tia_register or is_on_pad_register)
            and coalesce(qrisk_value >= {{ threshold('lipid_qrisk_high') }}, false) as lipids_qrisk20_on_llt_denominator,
        is_adult and (is_on_chd_register or is_on_stroke_tia_register or is_on_pad_register)
            as lipids_cvd_on_llt_denominator,
        is_cyp and has_active_asthma as cyp_asthma_reliever_overuse_denominator,
        is_cyp and has_active_asthma as cyp_asthma_no_preventer_denominator,
        is_cyp and has_active_diabetes as cyp_diabetes_hba1c_recorded_denominator,
        is_cyp and is_on_epilepsy_register as cyp_epilepsy_specialist_contact_denominator,
        (age <= {{ threshold_int('cyp_oral_health_max_age') }} or cyp_tooth_extraction_admissions_12m > 0)
            as cyp_oral_health_extraction_denominator,
        is_cyp as cyp_mental_health_contact_denominator,
        is_on_learning_disability_register and age >= {{ threshold_int('ld_health_check_min_age') }}
            as ld_health_check_denominator
    from person
),

flags as (
    select
        denominators.*,
        maternity_booking_10wk_denominator and is_antenatal_booked_by_10_weeks as maternity_booking_10wk_numerator,
        smi_health_check_denominator
            and coalesce(smi_health_check_elements_12m >= {{ threshold_int('smi_health_check_elements') }}, false)
            as smi_health_check_numerator,
        copd_flu_vaccination_denominator and coalesce(has_flu_vaccination_this_season, false)
            as copd_flu_vaccination_numerator,
        copd_emergency_admissions_denominator and copd_emergency_admissions_12m > 0
            as copd_emergency_admissions_numerator,
        cancer_early_stage_denominator and early_stage_tumours > 0 as cancer_early_stage_numerator,
        htn_treated_to_target_denominator and coalesce(is_bp_at_htn_target, false) as htn_treated_to_target_numerator,
        htn_case_finding_denominator and coalesce(has_bp_5y, false) as htn_case_finding_numerator,
        lipids_on_llt_denominator and has_llt_6m as lipids_on_llt_numerator,
        lipids_qrisk20_on_llt_denominator and has_llt_6m as lipids_qrisk20_on_llt_numerator,
        lipids_cvd_on_llt_denominator and has_llt_6m as lipids_cvd_on_llt_numerator,
        cyp_asthma_reliever_overuse_denominator
            and coalesce(saba_issues_12m >= {{ threshold_int('saba_overuse_count') }}, false)
            as cyp_asthma_reliever_overuse_numerator,
        cyp_asthma_no_preventer_denominator and not has_ics_12m as cyp_asthma_no_preventer_numerator,
        cyp_diabetes_hba1c_recorded_denominator and coalesce(hba1c_recorded_12m, false)
            as cyp_diabetes_hba1c_recorded_numerator,
        cyp_epilepsy_specialist_contact_denominator and epilepsy_specialist_contacts_12m > 0
            as cyp_epilepsy_specialist_contact_numerator,
        cyp_oral_health_extraction_denominator and cyp_tooth_extraction_admissions_12m > 0
            as cyp_oral_health_extraction_numerator,
        cyp_mental_health_contact_denominator and cyp_mental_health_contacts_12m > 0
            as cyp_mental_health_contact_numerator,
        ld_health_check_denominator and has_ld_health_check_12m as ld_health_check_numerator
    from denominators
)

select
    person_id,
    coalesce(imd_decile <= {{ threshold_int('core20_imd_decile_max') }}, false) as is_core20,
    imd_decile,
    imd_version,
    (ethnicity_group in ('Mixed', 'Asian', 'Black', 'Other') or is_white_non_british) as plus_ethnic_minority,
    coalesce(is_homeless or is_gypsy_roma_traveller or is_asylum_refugee, false) as plus_inclusion_health,
    (is_on_learning_disability_register or is_on_autism_register) as plus_ld_autism,
    is_on_smi_register as plus_smi,
    coalesce(is_veteran, false) as plus_veteran,
    coalesce(is_carer, false) as plus_carer,
    {%- for indicator_id in indicator_ids %}
    coalesce({{ indicator_id }}_denominator, false) as {{ indicator_id }}_denominator,
    coalesce({{ indicator_id }}_numerator, false) as {{ indicator_id }}_numerator,
    {%- endfor %}
    -- Counts behind the spell- and tumour-counted indicators (0 outside their denominators), as bigint on every
    -- engine (a DuckDB sum is a 128-bit integer, Spark's a bigint).
    cast(case when copd_emergency_admissions_denominator then copd_emergency_admissions_12m else 0 end
        as {{ dbt.type_bigint() }}) as copd_emergency_admissions_spells,
    cast(case when cyp_oral_health_extraction_denominator then cyp_tooth_extraction_admissions_12m else 0 end
        as {{ dbt.type_bigint() }}) as cyp_oral_health_extraction_spells,
    cast(case when is_adult then staged_tumours else 0 end as {{ dbt.type_bigint() }}) as cancer_staged_tumours,
    cast(case when is_adult then early_stage_tumours else 0 end as {{ dbt.type_bigint() }})
        as cancer_early_stage_tumours,
    cast(case when is_adult then unstaged_tumours else 0 end as {{ dbt.type_bigint() }}) as cancer_unstaged_tumours,
    has_type1_opt_out,
    {{ reference_date() }} as reference_date
from flags
