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
    {#- every indicator of seeds/indicator_definitions.csv (macros/indicators.sql) #}
    {%- for indicator_id in indicator_ids() %}
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
