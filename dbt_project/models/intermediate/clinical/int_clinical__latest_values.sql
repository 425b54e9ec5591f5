-- Latest clinical values per registered person on the reference date (clinical spec, Latest values), with the
-- BP counts the hypertension rules need. Only plausible values count (int_clinical__observations_all).
--   * Last BP = the latest day with both a plausible systolic and diastolic value, lowest of each that day (QOF;
--     int_clinical__bp_readings_all). last_bp_* is the latest ever; has_bp_12m says whether it falls in the
--     bp_lookback_months window (no BP in 12 months: has_bp_12m false).
--   * Other values: the latest day with a plausible value; several values that day -> the lowest (as for BP).
--   * Smoking status from the latest smoking code (current / ex / never; same day: current, then ex); a latest
--     "never smoked" after an earlier current or ex-smoker code reads as ex (QOF: never only with no history).
--   * BP counts over the bp_lookback_months window, one reading per day: severe = systolic >= htn_red_sbp OR
--     diastolic >= htn_red_dbp (NICE "180/120 or higher"); high = >= htn_red_repeat_sbp OR >= htn_red_repeat_dbp;
--     raised = systolic >= possible_undiag_sbp AND diastolic >= possible_undiag_dbp (both, as the spec says).
--   * Hypertension treated-to-target decision (clinical spec v2, Core20PLUS5 5a; CVDP007HYP, QOF HYP008/009), the
--     one place every model reads it: htn_target_sbp / htn_target_dbp = the target that applies to this person
--     (age >= htn_age_older or not; the last reading clinic or home / daytime ambulatory average: the home targets
--     are 5 mmHg lower); is_bp_at_htn_target = a BP in bp_lookback_months with systolic AND diastolic meeting
--     their target rule (value and operator from the seed: 140/90 or less is to target); no BP in 12 months =
--     false. Computed for everyone; only the hypertension register's denominator uses it.
{%- set value_concepts = concept_list('hba1c', 'cholesterol', 'non_hdl_cholesterol', 'bmi', 'qrisk', 'egfr',
                                      'urine_acr', 'cha2ds2_vasc') %}
with population as (
    select person_id, age from {{ ref('int_person__registered_population') }}
),

observations as (
    select * from {{ ref('int_clinical__observations_all') }}
),

non_hdl_codes as (
    select distinct code
    from {{ ref('int_reference__concept_codes') }}
    where concept = {{ concept('non_hdl_cholesterol') }}
),

daily_values as (
    select observations.person_id, observations.concept, observations.event_date, min(observations.numeric_value) as value
    from observations
    left join non_hdl_codes
        on observations.snomed_code = non_hdl_codes.code
    where observations.value_status = 'plausible'
      and observations.concept in ('{{ value_concepts | join("', '") }}')
      -- A code in both the cholesterol and the non-HDL lists counts as non-HDL only:
      -- otherwise the same reading would be both the latest total and the latest non-HDL cholesterol.
      and not (observations.concept = {{ concept('cholesterol') }} and non_hdl_codes.code is not null)
    group by observations.person_id, observations.concept, observations.event_date
),

-- One row per person and concept: the latest day (unique per person and concept after daily_values), found by an
-- aggregate rather than a window, which would sort every daily value (about 40 million at 3M people). max_by's
-- value is never null here (plausible values only): DuckDB's max_by skips a null value, Spark's returns it.
latest_daily_values as (
    select person_id, concept, max(event_date) as event_date, max_by(value, event_date) as value
    from daily_values
    group by person_id, concept
),

latest_values as (
    select
        person_id,
        {%- for value_concept in value_concepts %}
        max(case when concept = '{{ value_concept }}' then value end) as {{ value_concept }}_value,
        max(case when concept = '{{ value_concept }}' then event_date end) as {{ value_concept }}_date
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from latest_daily_values
    group by person_id
),

smoking_codes as (
    select
        person_id,
        event_date,
        case concept
            when {{ concept('smoking_current') }} then 'current'
            when {{ concept('smoking_ex') }} then 'ex'
            else 'never'
        end as status
    from observations
    where concept in ({{ concepts('smoking_current', 'smoking_ex', 'smoking_never') }})
),

smoking_ranked as (
    select
        person_id,
        event_date,
        status,
        row_number() over (
            partition by person_id
            order by event_date desc, case status when 'current' then 1 when 'ex' then 2 else 3 end
        ) as recency_rank,
        max(case when status in ('current', 'ex') then 1 else 0 end) over (partition by person_id) as has_smoking_history
    from smoking_codes
),

smoking as (
    select
        person_id,
        case when status = 'never' and has_smoking_history = 1 then 'ex' else status end as smoking_status,
        event_date as smoking_status_date
    from smoking_ranked
    where recency_rank = 1
),

bp_readings as (
    select
        bp.*,
        {{ in_lookback('bp_lookback_months', 'bp.bp_date') }} as is_in_bp_window,
        (bp.systolic >= {{ threshold('htn_red_sbp') }} or bp.diastolic >= {{ threshold('htn_red_dbp') }}) as is_severe,
        (bp.systolic >= {{ threshold('htn_red_repeat_sbp') }} or bp.diastolic >= {{ threshold('htn_red_repeat_dbp') }}) as is_high,
        (bp.systolic >= {{ threshold('possible_undiag_sbp') }} and bp.diastolic >= {{ threshold('possible_undiag_dbp') }}) as is_raised
    from {{ ref('int_clinical__bp_readings_all') }} as bp
),

bp_summary as (
    select
        person_id,
        -- the latest reading: one per person and day (int_clinical__bp_readings_all), so max_by has no ties; its
        -- values are never null there (a reading has both values; the home flag is coalesced), as max_by needs
        max(bp_date) as last_bp_date,
        max_by(systolic, bp_date) as last_bp_systolic,
        max_by(diastolic, bp_date) as last_bp_diastolic,
        coalesce(max_by(is_home_or_ambulatory, bp_date), false) as last_bp_is_home_or_ambulatory,
        sum(case when is_in_bp_window then 1 else 0 end) as bp_readings_12m,
        sum(case when is_in_bp_window and is_severe then 1 else 0 end) as bp_severe_readings_12m,
        max(case when is_in_bp_window and is_severe then bp_date end) as latest_severe_bp_date,
        sum(case when is_in_bp_window and is_high then 1 else 0 end) as bp_high_readings_12m,
        max(case when is_in_bp_window and is_raised then bp_date end) as latest_raised_bp_date
    from bp_readings
    group by person_id
),

raised_bp as (
    -- The evidence for possible undiagnosed hypertension: the latest raised reading in the window.
    select bp_readings.person_id, bp_readings.systolic, bp_readings.diastolic
    from bp_readings
    inner join bp_summary
        on bp_readings.person_id = bp_summary.person_id
        and bp_readings.bp_date = bp_summary.latest_raised_bp_date
),

bp_control as (
    select
        population.person_id,
        coalesce({{ in_lookback('bp_lookback_months', 'bp_summary.last_bp_date') }}, false) as has_bp_12m,
        coalesce(bp_summary.last_bp_is_home_or_ambulatory, false) as last_bp_is_home_or_ambulatory,
        population.age >= {{ threshold_int('htn_age_older') }} as is_older_age_target,
        bp_summary.last_bp_systolic,
        bp_summary.last_bp_diastolic
    from population
    left join bp_summary
        on population.person_id = bp_summary.person_id
),

bp_targets as (
    select
        person_id,
        has_bp_12m,
        last_bp_is_home_or_ambulatory,
        case
            when is_older_age_target and last_bp_is_home_or_ambulatory then {{ threshold('htn_target_sbp_80plus_home') }}
            when is_older_age_target then {{ threshold('htn_target_sbp_80plus') }}
            when last_bp_is_home_or_ambulatory then {{ threshold('htn_target_sbp_under80_home') }}
            else {{ threshold('htn_target_sbp_under80') }}
        end as htn_target_sbp,
        case
            when is_older_age_target and last_bp_is_home_or_ambulatory then {{ threshold('htn_target_dbp_80plus_home') }}
            when is_older_age_target then {{ threshold('htn_target_dbp_80plus') }}
            when last_bp_is_home_or_ambulatory then {{ threshold('htn_target_dbp_under80_home') }}
            else {{ threshold('htn_target_dbp_under80') }}
        end as htn_target_dbp,
        coalesce(
            has_bp_12m
            and case
                when is_older_age_target and last_bp_is_home_or_ambulatory
                    then {{ meets_threshold('htn_target_sbp_80plus_home', 'last_bp_systolic') }}
                     and {{ meets_threshold('htn_target_dbp_80plus_home', 'last_bp_diastolic') }}
                when is_older_age_target
                    then {{ meets_threshold('htn_target_sbp_80plus', 'last_bp_systolic') }}
                     and {{ meets_threshold('htn_target_dbp_80plus', 'last_bp_diastolic') }}
                when last_bp_is_home_or_ambulatory
                    then {{ meets_threshold('htn_target_sbp_under80_home', 'last_bp_systolic') }}
                     and {{ meets_threshold('htn_target_dbp_under80_home', 'last_bp_diastolic') }}
                else {{ meets_threshold('htn_target_sbp_under80', 'last_bp_systolic') }}
                 and {{ meets_threshold('htn_target_dbp_under80', 'last_bp_diastolic') }}
            end,
            false
        ) as is_bp_at_htn_target
    from bp_control
)

select
    population.person_id,
    bp_summary.last_bp_date,
    bp_summary.last_bp_systolic,
    bp_summary.last_bp_diastolic,
    bp_targets.has_bp_12m,
    coalesce({{ in_lookback('bp_case_finding_lookback_years', 'bp_summary.last_bp_date') }}, false) as has_bp_5y,
    bp_targets.last_bp_is_home_or_ambulatory,
    bp_targets.htn_target_sbp,
    bp_targets.htn_target_dbp,
    bp_targets.is_bp_at_htn_target,
    coalesce(bp_summary.bp_readings_12m, 0) as bp_readings_12m,
    coalesce(bp_summary.bp_severe_readings_12m, 0) as bp_severe_readings_12m,
    bp_summary.latest_severe_bp_date,
    coalesce(bp_summary.bp_high_readings_12m, 0) as bp_high_readings_12m,
    bp_summary.latest_raised_bp_date is not null as has_raised_bp_12m,
    bp_summary.latest_raised_bp_date,
    raised_bp.systolic as latest_raised_bp_systolic,
    raised_bp.diastolic as latest_raised_bp_diastolic,
    {%- for value_concept in value_concepts %}
    latest_values.{{ value_concept }}_value,
    latest_values.{{ value_concept }}_date,
    {%- endfor %}
    smoking.smoking_status,
    smoking.smoking_status_date
from population
left join bp_summary
    on population.person_id = bp_summary.person_id
left join bp_targets
    on population.person_id = bp_targets.person_id
left join raised_bp
    on population.person_id = raised_bp.person_id
left join latest_values
    on population.person_id = latest_values.person_id
left join smoking
    on population.person_id = smoking.person_id
