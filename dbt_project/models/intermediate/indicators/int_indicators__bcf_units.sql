-- The units the Better Care Fund metrics count (hospital spells, social care episodes, people), one row per metric x
-- period x unit, with the local authority of residence and the age at the event. marts.bcf_metrics aggregates it.
--   * Hospital spells of linked persons (SUS APC). Emergency = admission method 2x (21-28, 2A-2D; code set
--     admission_method_emergency). avoidable_admissions: emergency, admission date in the period, primary
--     diagnosis matching a chronic ACSC prefix; emergency_admissions_falls_65plus (PHOF C29, clinical spec v2):
--     emergency, admission date in the period, an injury PRIMARY diagnosis (primary_icd10_prefixes S, T = S00-T98)
--     and a fall code W00-W19 in any position (primary or the semicolon-separated secondary list). The lists are
--     bcf_metric_definitions.icd10_prefixes / primary_icd10_prefixes (a prefix matches every code starting with
--     it: J45 matches J450, J46 matches J46X, E100 matches only E100).
--     discharge_usual_residence: every spell (any admission method: the BCF metric is not limited to emergency
--     admissions) discharged in the period with a recorded destination other than death (code set
--     discharge_destination_died) or 98 spell not finished (discharge_destination_spell_not_finished); numerator: usual place of residence (discharge_destination_usual_residence).
--     The national metric counts acute trusts only; this feed's providers are all treated as acute.
--   * Social care (asc_services): permanent_care_home_admissions_65plus = a Residential or Nursing service starting in
--     the period, one unit per person per period (a move from residential to nursing in the same period is not a
--     second admission); reablement_at_home_91_days = a Reablement service starting in the period with a recorded
--     91-day outcome, numerator still_at_home_91_days. ASCOF 2B(1) counts people discharged from hospital INTO
--     reablement; the feed's outcome is defined that way ("at home 91 days after hospital discharge") but the
--     episode carries no spell or discharge date, so the link to a discharge cannot be checked here and every
--     recorded reablement episode is counted. Rows with no linked NHS number cannot be aged or placed and are not
--     counted.
--   * Residence: the registration open on the event date (latest start wins) -> LSOA -> district -> local authority,
--     as int_indicators__bcf_population; no open registration or a residence outside the ICB = not counted (the
--     numerator and denominator are the same registered residents). People with a Type 1 opt-out are left out:
--     the opt-out of their latest registration record (int_person__type1_opt_out, the same rule as every mart).
--   * Minimum age: age at the event >= the threshold named by the metric's min_age_rule_id.
{#- The ICD-10 prefixes of bcf_metric_definitions (space-separated in one cell) become one row each. Splitting a
    cell needs dialect-specific SQL (dbt.split_part takes only a literal part number on Spark), so the seed, which
    dbt builds before this model, is read when the model runs and the rows are rendered as literals. Only letters
    and digits are accepted in a prefix. At parse / compile time without a built seed, no prefixes are rendered. -#}
{%- set prefix_rows = [] %}
{%- set primary_prefix_rows = [] %}
{%- if execute %}
    {%- set definitions_relation = load_relation(ref('bcf_metric_definitions')) %}
    {%- if definitions_relation is not none %}
        {%- set seed_rows = run_query("select metric_id, diagnosis_position, icd10_prefixes from "
                                      ~ definitions_relation ~ " where icd10_prefixes is not null") %}
        {%- for seed_row in seed_rows.rows %}
            {%- for prefix in (seed_row[2] | string).split() %}
                {%- if not modules.re.match('^[A-Z0-9]+$', prefix) or not modules.re.match('^[a-z0-9_]+$', seed_row[0] | string)
                       or (seed_row[1] | string) not in ['primary', 'any'] %}
                    {{ exceptions.raise_compiler_error("bcf_metric_definitions: bad prefix '" ~ prefix ~ "' or position '"
                                                       ~ seed_row[1] ~ "' for metric '" ~ seed_row[0] ~ "'") }}
                {%- endif %}
                {%- do prefix_rows.append((seed_row[0], seed_row[1], prefix)) %}
            {%- endfor %}
        {%- endfor %}
        {%- set primary_rows = run_query("select metric_id, primary_icd10_prefixes from " ~ definitions_relation
                                         ~ " where primary_icd10_prefixes is not null") %}
        {%- for seed_row in primary_rows.rows %}
            {%- for prefix in (seed_row[1] | string).split() %}
                {%- if not modules.re.match('^[A-Z0-9]+$', prefix) %}
                    {{ exceptions.raise_compiler_error("bcf_metric_definitions: bad primary prefix '" ~ prefix ~ "' for metric '" ~ seed_row[0] ~ "'") }}
                {%- endif %}
                {%- do primary_prefix_rows.append((seed_row[0], prefix)) %}
            {%- endfor %}
        {%- endfor %}
        {%- if prefix_rows | length == 0 %}
            {{ exceptions.raise_compiler_error("bcf_metric_definitions has no icd10_prefixes: the diagnosis-based metrics would count nothing") }}
        {%- endif %}
    {%- endif %}
{%- endif %}
with definitions as (
    select * from {{ ref('bcf_metric_definitions') }}
),

periods as (
    select * from {{ ref('int_indicators__bcf_periods') }}
),

window_bounds as (
    select min(period_start) as first_day, max(period_end) as last_day
    from periods
),

registrations as (
    select * from {{ ref('int_person__registrations') }}
),

opted_out as (
    select person_id
    from {{ ref('int_person__type1_opt_out') }}
    where has_type1_opt_out
),

-- ICD-10 prefixes, one row each (rendered at run time from the seed, see the top of this file).
prefixes as (
    {%- for metric_id, diagnosis_position, prefix in prefix_rows %}
    select '{{ metric_id }}' as metric_id, '{{ diagnosis_position }}' as diagnosis_position, '{{ prefix }}' as prefix
    {%- if not loop.last %} union all{% endif %}
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as metric_id,
        cast(null as {{ dbt.type_string() }}) as diagnosis_position,
        cast(null as {{ dbt.type_string() }}) as prefix
    where 1 = 0
    {%- endfor %}
),

-- Primary-diagnosis prefixes a metric ALSO requires (PHOF falls: injury S00-T98), one row each.
primary_prefixes as (
    {%- for metric_id, prefix in primary_prefix_rows %}
    select '{{ metric_id }}' as metric_id, '{{ prefix }}' as prefix
    {%- if not loop.last %} union all{% endif %}
    {%- else %}
    select cast(null as {{ dbt.type_string() }}) as metric_id, cast(null as {{ dbt.type_string() }}) as prefix
    where 1 = 0
    {%- endfor %}
),

window_spells as (
    select
        spells.spell_id,
        spells.person_id,
        spells.admission_date,
        spells.discharge_date,
        spells.discharge_destination_code,
        spells.primary_diagnosis_icd10_code,
        coalesce({{ in_code_set('admission_method_emergency', 'spells.admission_method_code') }}, false) as is_emergency,
        {{ dbt.concat(["';'", "spells.primary_diagnosis_icd10_code", "';'",
                       "coalesce(spells.secondary_diagnosis_icd10_codes, '')"]) }} as all_diagnosis_codes
    from {{ ref('stg_sus_apc_spells') }} as spells
    cross join window_bounds
    where spells.is_linked
      and (
          (spells.admission_date >= window_bounds.first_day and spells.admission_date <= window_bounds.last_day)
          or (spells.discharge_date >= window_bounds.first_day and spells.discharge_date <= window_bounds.last_day)
      )
),

emergency_spells as (
    select * from window_spells where is_emergency
),

matched_spells as (
    select distinct
        prefixes.metric_id,
        emergency_spells.spell_id,
        emergency_spells.person_id,
        emergency_spells.admission_date,
        emergency_spells.primary_diagnosis_icd10_code
    from emergency_spells
    inner join prefixes
        on (prefixes.diagnosis_position = 'primary'
            and emergency_spells.primary_diagnosis_icd10_code like {{ dbt.concat(["prefixes.prefix", "'%'"]) }})
        or (prefixes.diagnosis_position = 'any'
            and emergency_spells.all_diagnosis_codes like {{ dbt.concat(["'%;'", "prefixes.prefix", "'%'"]) }})
    where prefixes.prefix <> ''
),

diagnosis_spells as (
    -- A metric with primary_prefixes keeps only spells whose primary diagnosis also matches one of them.
    select
        matched_spells.metric_id,
        matched_spells.spell_id,
        matched_spells.person_id,
        matched_spells.admission_date
    from matched_spells
    left join primary_prefixes
        on matched_spells.metric_id = primary_prefixes.metric_id
    group by matched_spells.metric_id, matched_spells.spell_id, matched_spells.person_id, matched_spells.admission_date
    having count(primary_prefixes.prefix) = 0
        or max(case when matched_spells.primary_diagnosis_icd10_code
                         like {{ dbt.concat(["primary_prefixes.prefix", "'%'"]) }} then 1 else 0 end) = 1
),

social_care as (
    select *
    from {{ ref('stg_asc_services') }}
    where is_linked
),

candidate_units as (
    select
        metric_id,
        spell_id as unit_id,
        person_id,
        admission_date as event_date,
        true as is_numerator,
        false as is_denominator_unit
    from diagnosis_spells
    where metric_id in ('avoidable_admissions', 'emergency_admissions_falls_65plus')

    union all

    select
        'discharge_usual_residence' as metric_id,
        spell_id as unit_id,
        person_id,
        discharge_date as event_date,
        {{ in_code_set('discharge_destination_usual_residence', 'discharge_destination_code') }} as is_numerator,
        true as is_denominator_unit
    from window_spells
    where discharge_date is not null
      and discharge_destination_code is not null
      and not {{ in_code_set('discharge_destination_died', 'discharge_destination_code') }}
      and not {{ in_code_set('discharge_destination_spell_not_finished', 'discharge_destination_code') }}

    union all

    select
        'permanent_care_home_admissions_65plus' as metric_id,
        service_id as unit_id,
        person_id,
        service_start_date as event_date,
        true as is_numerator,
        false as is_denominator_unit
    from social_care
    where {{ in_code_set('asc_service_care_home', 'service_type') }}

    union all

    select
        'reablement_at_home_91_days' as metric_id,
        service_id as unit_id,
        person_id,
        service_start_date as event_date,
        is_still_at_home_91_days as is_numerator,
        true as is_denominator_unit
    from social_care
    where {{ in_code_set('asc_service_reablement', 'service_type') }}
      and is_still_at_home_91_days is not null
),

in_periods as (
    select
        candidate_units.*,
        periods.period,
        periods.period_end
    from candidate_units
    inner join periods
        on candidate_units.event_date >= periods.period_start
        and candidate_units.event_date <= periods.period_end
    left join opted_out
        on candidate_units.person_id = opted_out.person_id
    where opted_out.person_id is null
),

residence as (
    select
        in_periods.*,
        registrations.date_of_birth,
        registrations.lsoa_code,
        row_number() over (
            partition by in_periods.metric_id, in_periods.unit_id
            order by {{ registration_recency_order('registrations.') }}
        ) as recency_rank
    from in_periods
    inner join registrations
        on in_periods.person_id = registrations.person_id
        and registrations.registration_start_date <= in_periods.event_date
        and (registrations.registration_end_date is null or registrations.registration_end_date > in_periods.event_date)
),

placed as (
    select
        residence.metric_id,
        residence.period,
        residence.period_end,
        residence.unit_id,
        residence.person_id,
        residence.event_date,
        district_local_authorities.la_code,
        cast({{ age_in_years('residence.date_of_birth', 'residence.event_date') }} as {{ dbt.type_int() }}) as age_at_event,
        residence.is_numerator,
        residence.is_denominator_unit
    from residence
    inner join {{ ref('imd2019_lsoa') }} as imd
        on residence.lsoa_code = imd.lsoa_code
    inner join (select distinct district_code, la_code from {{ ref('practice_map') }}) as district_local_authorities
        on imd.lad_code = district_local_authorities.district_code
    where residence.recency_rank = 1
),

aged as (
    select placed.*
    from placed
    inner join definitions
        on placed.metric_id = definitions.metric_id
    left join {{ ref('thresholds') }} as thresholds
        on definitions.min_age_rule_id = thresholds.rule_id
    where definitions.min_age_rule_id is null
       or placed.age_at_event >= thresholds.value
),

-- Care home admissions: one per person per period (the earliest start; ties to the lowest service id).
ranked as (
    select
        aged.*,
        row_number() over (
            partition by aged.metric_id, aged.period, aged.person_id
            order by aged.event_date, aged.unit_id
        ) as person_period_rank
    from aged
)

select
    metric_id,
    period,
    period_end,
    unit_id,
    person_id,
    event_date,
    la_code,
    age_at_event,
    coalesce(is_numerator, false) as is_numerator,
    is_denominator_unit
from ranked
where metric_id <> 'permanent_care_home_admissions_65plus'
   or person_period_rank = 1
