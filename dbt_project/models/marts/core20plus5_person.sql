-- Published: Core20PLUS5 per registered person (clinical spec, Core20PLUS5 and Identifiers): Core20, the PLUS
-- groups, and every indicator's <id>_denominator / <id>_numerator flag (numerator implies denominator). Rules in
-- int_indicators__person_flags. Type 1 opt-outs are included (direct-care gap lists) and flagged: every aggregate
-- excludes them (marts.core20plus5_indicators does).
select
    flags.person_id,
    flags.is_core20,
    flags.plus_ethnic_minority,
    flags.plus_inclusion_health,
    flags.plus_ld_autism,
    flags.plus_smi,
    flags.plus_veteran,
    flags.plus_carer,
    {%- for indicator_id in [
        'maternity_booking_10wk', 'smi_health_check', 'copd_flu_vaccination', 'cancer_early_stage',
        'htn_treated_to_target', 'htn_case_finding', 'lipids_on_llt', 'lipids_qrisk20_on_llt', 'lipids_cvd_on_llt',
        'cyp_asthma_reliever_overuse', 'cyp_asthma_no_preventer', 'cyp_diabetes_hba1c_recorded',
        'cyp_epilepsy_specialist_contact', 'cyp_oral_health_extraction', 'cyp_mental_health_contact',
        'ld_health_check',
        'copd_emergency_admissions'] %}
    flags.{{ indicator_id }}_denominator,
    flags.{{ indicator_id }}_numerator,
    {%- endfor %}
    -- Extras beyond the contract.
    flags.imd_decile,
    flags.imd_version,
    flags.copd_emergency_admissions_spells,
    flags.cyp_oral_health_extraction_spells,
    flags.cancer_staged_tumours,
    flags.cancer_early_stage_tumours,
    flags.cancer_unstaged_tumours,
    (
        case when flags.plus_ethnic_minority then 1 else 0 end
        + case when flags.plus_inclusion_health then 1 else 0 end
        + case when flags.plus_ld_autism then 1 else 0 end
        + case when flags.plus_smi then 1 else 0 end
        + case when flags.plus_veteran then 1 else 0 end
        + case when flags.plus_carer then 1 else 0 end
    ) as plus_group_count,
    flags.has_type1_opt_out as type1_opt_out,
    flags.reference_date
from {{ ref('int_indicators__person_flags') }} as flags
