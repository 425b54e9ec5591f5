-- Published: reversible risk ("Your Healthier Futures") per registered adult (clinical spec, "Reversible risk"):
-- every factor flag with the evidence that set it (the value and its date, or the missing measurement), the
-- count of factors, and the risk of unplanned care score and tier (int_risk__scores; tiers are ranked over the
-- whole registered population). All thresholds from seeds/thresholds.csv:
--   * bp_above_target: hypertension register and not treated to target as Core20PLUS5 5a decides it
--     (int_indicators__person_flags), which includes no BP in 12 months;
--   * possible_undiagnosed_hypertension: not on the hypertension register, a reading >= possible_undiag_sbp AND
--     >= possible_undiag_dbp in bp_lookback_months;
--   * lipids_untreated: established CVD (CHD, stroke/TIA, PAD) or latest QRISK >= lipid_qrisk, and no lipid-lowering
--     therapy issued in llt_lookback_months;
--   * af_not_anticoagulated: AF register, CHA2DS2-VASc >= af_cha2ds2vasc (or, with no score recorded, age >=
--     af_age_no_score), no oral anticoagulant issued in anticoagulant_lookback_months;
--   * hba1c_above_target: diabetes register, last HbA1c > hba1c_above_target (> hba1c_above_target_frail with
--     moderate or severe frailty);
--   * non_diabetic_hyperglycaemia: not on the diabetes register, latest HbA1c in [ndh_hba1c_min, ndh_hba1c_max];
--   * current_smoker: latest smoking status is current;
--   * obesity: latest BMI >= obesity_bmi, or >= obesity_bmi_ethnic for the Asian, Black, Mixed and Other groups.
{%- set factors = ['bp_above_target', 'possible_undiagnosed_hypertension', 'lipids_untreated', 'af_not_anticoagulated',
                   'hba1c_above_target', 'non_diabetic_hyperglycaemia', 'current_smoker', 'obesity'] %}
with facts as (
    select * from {{ ref('int_pathways__person_facts') }}
    where is_adult
),

rules as (
    select
        facts.*,
        (is_on_chd_register or is_on_stroke_tia_register or is_on_pad_register) as has_established_cvd,
        case when is_moderately_or_severely_frail
             then {{ threshold('hba1c_above_target_frail') }} else {{ threshold('hba1c_above_target') }} end
            as hba1c_target,
        case when uses_lower_bmi_thresholds
             then {{ threshold('obesity_bmi_ethnic') }} else {{ threshold('obesity_bmi') }} end as obesity_bmi_threshold
    from facts
),

flags as (
    select
        rules.*,
        is_on_hypertension_register and not is_bp_at_htn_target as bp_above_target,
        not is_on_hypertension_register and coalesce(has_raised_bp_12m, false) as possible_undiagnosed_hypertension,
        (has_established_cvd or coalesce(qrisk_value >= {{ threshold('lipid_qrisk') }}, false)) and not has_llt_6m
            as lipids_untreated,
        is_on_af_register
            and coalesce(
                cha2ds2_vasc_value >= {{ threshold('af_cha2ds2vasc') }},
                age >= {{ threshold_int('af_age_no_score') }}
            )
            and not has_oral_anticoagulant_6m as af_not_anticoagulated,
        is_on_diabetes_register and coalesce(hba1c_value > hba1c_target, false) as hba1c_above_target,
        not is_on_diabetes_register
            and coalesce(hba1c_value >= {{ threshold('ndh_hba1c_min') }}
                         and hba1c_value <= {{ threshold('ndh_hba1c_max') }}, false) as non_diabetic_hyperglycaemia,
        coalesce(smoking_status = 'current', false) as current_smoker,
        coalesce(bmi_value >= obesity_bmi_threshold, false) as obesity
    from rules
),

evidence as (
    select
        flags.*,
        case when bp_above_target then
            case when has_bp_12m
                then {{ dbt.concat(["'BP '", text_number('last_bp_systolic'), "'/'", text_number('last_bp_diastolic'),
                                    "' on '", text_date('last_bp_date'), "', above the target '",
                                    text_number('htn_target_sbp'), "'/'", text_number('htn_target_dbp')]) }}
                else {{ dbt.concat(["'hypertension: no BP recorded in 12 months'",
                                    "case when last_bp_date is not null then " ~ dbt.concat(["' (last '", text_date('last_bp_date'), "')'"]) ~ " else '' end"]) }}
            end
        end as bp_above_target_evidence,
        case when possible_undiagnosed_hypertension then
            {{ dbt.concat(["'BP '", text_number('latest_raised_bp_systolic'), "'/'", text_number('latest_raised_bp_diastolic'),
                           "' on '", text_date('latest_raised_bp_date'), "' with no hypertension diagnosis'"]) }}
        end as possible_undiagnosed_hypertension_evidence,
        case when lipids_untreated then
            {{ dbt.concat([
                "case when has_established_cvd then 'established CVD' else "
                    ~ dbt.concat(["'QRISK '", text_number('qrisk_value', 1), "'% on '", text_date('qrisk_date')]) ~ " end",
                "', no lipid-lowering therapy in 6 months'",
                "case when last_lipid_lowering_issue_date is not null then "
                    ~ dbt.concat(["' (last issued '", text_date('last_lipid_lowering_issue_date'), "')'"]) ~ " else '' end"]) }}
        end as lipids_untreated_evidence,
        case when af_not_anticoagulated then
            {{ dbt.concat([
                "case when cha2ds2_vasc_value is not null then "
                    ~ dbt.concat(["'AF, CHA2DS2-VASc '", text_number('cha2ds2_vasc_value'), "' on '", text_date('cha2ds2_vasc_date')])
                    ~ " else " ~ dbt.concat(["'AF, no CHA2DS2-VASc recorded, aged '", text_number('age')]) ~ " end",
                "', no oral anticoagulant in 6 months'"]) }}
        end as af_not_anticoagulated_evidence,
        case when hba1c_above_target then
            {{ dbt.concat(["'HbA1c '", text_number('hba1c_value'), "' mmol/mol on '", text_date('hba1c_date'),
                           "', above '", text_number('hba1c_target'),
                           "case when is_moderately_or_severely_frail then ' (target for moderate/severe frailty)' else '' end"]) }}
        end as hba1c_above_target_evidence,
        case when non_diabetic_hyperglycaemia then
            {{ dbt.concat(["'HbA1c '", text_number('hba1c_value'), "' mmol/mol on '", text_date('hba1c_date'),
                           "', in the non-diabetic hyperglycaemia range'"]) }}
        end as non_diabetic_hyperglycaemia_evidence,
        case when current_smoker then
            {{ dbt.concat(["'current smoker (recorded '", text_date('smoking_status_date'), "')'"]) }}
        end as current_smoker_evidence,
        case when obesity then
            {{ dbt.concat(["'BMI '", text_number('bmi_value', 1), "' on '", text_date('bmi_date'), "', at or above '",
                           text_number("obesity_bmi_threshold", 1)]) }}
        end as obesity_evidence
    from flags
)

select
    person_id,
    {%- for factor in factors %}
    {{ factor }},
    {%- endfor %}
    (
        {%- for factor in factors %}
        case when {{ factor }} then 1 else 0 end{{ ' +' if not loop.last }}
        {%- endfor %}
    ) as reversible_factor_count,
    risk_score,
    risk_tier,
    -- Extras beyond the contract: evidence (value and date that set each flag) and context.
    {%- for factor in factors %}
    {{ factor }}_evidence,
    {%- endfor %}
    {%- set evidence_columns = [] %}
    {%- for factor in factors %}{% do evidence_columns.append(factor ~ '_evidence') %}{% endfor %}
    {{ join_non_null(evidence_columns, "'; '") }} as factor_reasons,
    risk_rank,
    risk_tier_order,
    score_breakdown,
    practice_code,
    neighbourhood,
    last_bp_systolic,
    last_bp_diastolic,
    last_bp_date,
    has_bp_12m,
    htn_target_sbp,
    htn_target_dbp,
    latest_raised_bp_systolic,
    latest_raised_bp_diastolic,
    latest_raised_bp_date,
    has_established_cvd,
    qrisk_value,
    qrisk_date,
    last_lipid_lowering_issue_date,
    cha2ds2_vasc_value,
    cha2ds2_vasc_date,
    last_oral_anticoagulant_issue_date,
    hba1c_value,
    hba1c_date,
    hba1c_target,
    smoking_status_date,
    bmi_value,
    bmi_date,
    obesity_bmi_threshold,
    is_moderately_or_severely_frail,
    has_type1_opt_out as type1_opt_out,
    {{ reference_date() }} as reference_date
from evidence
