-- Tumours of the registered population diagnosed in the cancer_diagnosis_lookback_months window
-- ((reference date - 12 months, reference date]) from the cancer registry (stg_cancer_registrations), with the
-- stage groups cancer_early_stage needs (clinical spec, Core20PLUS5 4):
--   * staged = stage 1, 2, 3 or 4 (code set cancer_stage_known; the denominator); early = staged and stage <= cancer_early_stage_max (1 or 2);
--   * unstaged = stage U (unknown / unstageable) or no stage recorded: counted separately, never in the denominator.
-- Unlinked registrations cannot be placed in a practice and are left out. Age rules are applied in
-- int_indicators__person_flags.
with population as (
    select person_id from {{ ref('int_person__registered_population') }}
),

tumours as (
    select
        tumour_id,
        person_id,
        diagnosis_date,
        site_icd10_code,
        upper(trim(stage)) as stage
    from {{ ref('stg_cancer_registrations') }}
    where is_linked
      and {{ in_lookback('cancer_diagnosis_lookback_months', 'diagnosis_date') }}
)

select
    tumours.tumour_id,
    tumours.person_id,
    tumours.diagnosis_date,
    tumours.site_icd10_code,
    tumours.stage,
    coalesce({{ in_code_set('cancer_stage_known', 'tumours.stage') }}, false) as is_staged,
    coalesce(
        {{ in_code_set('cancer_stage_known', 'tumours.stage') }}
        and cast(case when {{ in_code_set('cancer_stage_known', 'tumours.stage') }} then tumours.stage end
                 as {{ dbt.type_int() }})
            <= {{ threshold_int('cancer_early_stage_max') }},
        false
    ) as is_early_stage,
    not coalesce({{ in_code_set('cancer_stage_known', 'tumours.stage') }}, false) as is_unstaged
from tumours
inner join population
    on tumours.person_id = population.person_id
