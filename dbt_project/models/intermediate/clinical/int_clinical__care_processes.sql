-- Care processes and time-bound records per registered person on the reference date: what the pathways and
-- Core20PLUS5 indicators check was done, and when.
--   * Recorded elements (care_process_lookback_months window): a plausible value for HbA1c, cholesterol (total or
--     non-HDL), renal function (eGFR or serum creatinine), urine ACR, BMI; a BP reading (both values, same day);
--     any smoking status code; any alcohol consumption record (concept alcohol_consumption: drinker, non-drinker,
--     ex-drinker, units, AUDIT / AUDIT-C, excess-alcohol codes); a diabetic foot examination code.
--   * diabetes_care_processes_12m: how many of the 8 NDA processes (HbA1c, BP, cholesterol, renal function,
--     urine ACR, foot check, BMI, smoking) were recorded in that window.
--   * SMI physical health check (smi_health_check_lookback_months window): BMI, BP, cholesterol, glycaemia,
--     smoking status, alcohol (clinical spec v2): glycaemia = a plausible HbA1c OR a blood glucose record (concept
--     blood_glucose); alcohol = any alcohol consumption record (a teetotaller or an AUDIT-C score completes it).
--   * Flu vaccination in the "current" season (macros flu_season_start/end): 1 September to 31 March of the season
--     containing the reference date; a reference date in April-August looks at the season that ended in March.
--   * Reviews: latest asthma / COPD / medication review code, and whether it is within the window.
--   * Learning disability annual health check: the latest health check code (concept ld_health_check), and whether
--     it is within ld_health_check_lookback_months (ld_health_check indicator, clinical spec v2).
--   * Antenatal booking: bookings in antenatal_lookback_months; the latest booking's value is its gestation in
--     days (several bookings that day: the lowest value); a value whose unit is weeks (code set
--     gestation_unit_weeks) is converted to days (x days_per_week; clinical spec v2); booked by 10 weeks =
--     gestation <= maternity_gestation_days (false when the booking records no gestation). Sex is applied in
--     int_indicators__person_flags.
with population as (
    select person_id from {{ ref('int_person__registered_population') }}
),

events as (
    select * from {{ ref('int_clinical__coded_events_all') }}
),

observations as (
    select * from {{ ref('int_clinical__observations_all') }}
),

observation_dates as (
    select
        person_id,
        max(case when concept = {{ concept('hba1c') }} and value_status = 'plausible' then event_date end) as last_hba1c_date,
        max(case when concept in ({{ concepts('cholesterol', 'non_hdl_cholesterol') }}) and value_status = 'plausible'
                 then event_date end) as last_cholesterol_date,
        max(case when concept in ({{ concepts('egfr', 'creatinine') }}) and value_status = 'plausible'
                 then event_date end) as last_renal_function_date,
        max(case when concept = {{ concept('urine_acr') }} and value_status = 'plausible' then event_date end) as last_urine_acr_date,
        max(case when concept = {{ concept('bmi') }} and value_status = 'plausible' then event_date end) as last_bmi_date,
        max(case when concept in ({{ concepts('smoking_current', 'smoking_ex', 'smoking_never') }})
                 then event_date end) as last_smoking_status_date,
        max(case when concept = {{ concept('alcohol_consumption') }} then event_date end) as last_alcohol_date,
        max(case when concept = {{ concept('blood_glucose') }} then event_date end) as last_blood_glucose_date
    from observations
    group by person_id
),

bp_dates as (
    select person_id, max(bp_date) as last_bp_date
    from {{ ref('int_clinical__bp_readings_all') }}
    group by person_id
),

procedure_dates as (
    select
        person_id,
        max(case when concept = {{ concept('diabetes_foot_check') }} then event_date end) as last_foot_check_date,
        max(case when concept = {{ concept('asthma_review') }} then event_date end) as last_asthma_review_date,
        max(case when concept = {{ concept('copd_review') }} then event_date end) as last_copd_review_date,
        max(case when concept = {{ concept('medication_review') }} then event_date end) as last_medication_review_date,
        max(case when concept = {{ concept('ld_health_check') }} then event_date end) as last_ld_health_check_date,
        max(case when concept = {{ concept('flu_vaccination') }}
                  and event_date >= {{ flu_season_start() }}
                  and event_date <= {{ flu_season_end() }}
                 then event_date end) as last_flu_vaccination_date
    from events
    where concept in ({{ concepts('diabetes_foot_check', 'asthma_review', 'copd_review', 'medication_review',
                                 'flu_vaccination', 'ld_health_check') }})
    group by person_id
),

bookings as (
    select
        person_id,
        event_date,
        min(
            case
                when {{ in_code_set('gestation_unit_weeks', 'unit') }}
                    then numeric_value * {{ threshold('days_per_week') }}
                else numeric_value
            end
        ) as gestation_days
    from events
    where concept = {{ concept('antenatal_booking') }}
      and {{ in_lookback('antenatal_lookback_months', 'event_date') }}
    group by person_id, event_date
),

booking_summary as (
    select
        person_id,
        count(*) as antenatal_bookings_12m,
        max(event_date) as latest_antenatal_booking_date
    from bookings
    group by person_id
),

latest_booking as (
    select bookings.person_id, bookings.gestation_days
    from bookings
    inner join booking_summary
        on bookings.person_id = booking_summary.person_id
        and bookings.event_date = booking_summary.latest_antenatal_booking_date
),

elements as (
    select
        population.person_id,
        observation_dates.last_hba1c_date,
        bp_dates.last_bp_date,
        observation_dates.last_cholesterol_date,
        observation_dates.last_renal_function_date,
        observation_dates.last_urine_acr_date,
        procedure_dates.last_foot_check_date,
        observation_dates.last_bmi_date,
        observation_dates.last_smoking_status_date,
        observation_dates.last_alcohol_date,
        observation_dates.last_blood_glucose_date,
        -- SMI glycaemia element: the later of a plausible HbA1c and a blood glucose record.
        case
            when observation_dates.last_blood_glucose_date is null then observation_dates.last_hba1c_date
            when observation_dates.last_hba1c_date is null then observation_dates.last_blood_glucose_date
            when observation_dates.last_blood_glucose_date > observation_dates.last_hba1c_date
                then observation_dates.last_blood_glucose_date
            else observation_dates.last_hba1c_date
        end as last_glycaemia_date,
        procedure_dates.last_asthma_review_date,
        procedure_dates.last_copd_review_date,
        procedure_dates.last_medication_review_date,
        procedure_dates.last_ld_health_check_date,
        procedure_dates.last_flu_vaccination_date,
        booking_summary.antenatal_bookings_12m,
        booking_summary.latest_antenatal_booking_date,
        latest_booking.gestation_days
    from population
    left join observation_dates on population.person_id = observation_dates.person_id
    left join bp_dates on population.person_id = bp_dates.person_id
    left join procedure_dates on population.person_id = procedure_dates.person_id
    left join booking_summary on population.person_id = booking_summary.person_id
    left join latest_booking on population.person_id = latest_booking.person_id
),

flags as (
    select
        elements.*,
        {%- for element in ['hba1c', 'bp', 'cholesterol', 'renal_function', 'urine_acr', 'foot_check', 'bmi',
                            'smoking_status', 'alcohol'] %}
        coalesce({{ in_lookback('care_process_lookback_months', 'last_' ~ element ~ '_date') }}, false)
            as {{ element }}_recorded_12m,
        {%- endfor %}
        coalesce({{ in_lookback('dm_red_hba1c_lookback_months', 'last_hba1c_date') }}, false) as hba1c_recorded_15m,
        coalesce({{ in_lookback('ld_health_check_lookback_months', 'last_ld_health_check_date') }}, false)
            as has_ld_health_check_12m,
        {%- for element, date_column in [('bmi', 'last_bmi_date'), ('bp', 'last_bp_date'),
                                         ('cholesterol', 'last_cholesterol_date'), ('glycaemia', 'last_glycaemia_date'),
                                         ('smoking', 'last_smoking_status_date'), ('alcohol', 'last_alcohol_date')] %}
        coalesce({{ in_lookback('smi_health_check_lookback_months', date_column) }}, false) as smi_hc_{{ element }}_12m,
        {%- endfor %}
        {%- for review in ['asthma', 'copd', 'medication'] %}
        coalesce({{ in_lookback('care_process_lookback_months', 'last_' ~ review ~ '_review_date') }}, false)
            as has_{{ review }}_review_12m{{ ',' if not loop.last }}
        {%- endfor %}
    from elements
)

select
    person_id,
    hba1c_recorded_12m,
    bp_recorded_12m,
    cholesterol_recorded_12m,
    renal_function_recorded_12m,
    urine_acr_recorded_12m,
    foot_check_recorded_12m,
    bmi_recorded_12m,
    smoking_status_recorded_12m,
    alcohol_recorded_12m,
    hba1c_recorded_15m,
    (
        case when hba1c_recorded_12m then 1 else 0 end
        + case when bp_recorded_12m then 1 else 0 end
        + case when cholesterol_recorded_12m then 1 else 0 end
        + case when renal_function_recorded_12m then 1 else 0 end
        + case when urine_acr_recorded_12m then 1 else 0 end
        + case when foot_check_recorded_12m then 1 else 0 end
        + case when bmi_recorded_12m then 1 else 0 end
        + case when smoking_status_recorded_12m then 1 else 0 end
    ) as diabetes_care_processes_12m,
    smi_hc_bmi_12m,
    smi_hc_bp_12m,
    smi_hc_cholesterol_12m,
    smi_hc_glycaemia_12m,
    smi_hc_smoking_12m,
    smi_hc_alcohol_12m,
    (
        case when smi_hc_bmi_12m then 1 else 0 end
        + case when smi_hc_bp_12m then 1 else 0 end
        + case when smi_hc_cholesterol_12m then 1 else 0 end
        + case when smi_hc_glycaemia_12m then 1 else 0 end
        + case when smi_hc_smoking_12m then 1 else 0 end
        + case when smi_hc_alcohol_12m then 1 else 0 end
    ) as smi_health_check_elements_12m,
    last_foot_check_date,
    last_alcohol_date,
    last_blood_glucose_date,
    {{ flu_season_start() }} as flu_season_start_date,
    {{ flu_season_end() }} as flu_season_end_date,
    last_flu_vaccination_date,
    last_flu_vaccination_date is not null as has_flu_vaccination_this_season,
    last_asthma_review_date,
    has_asthma_review_12m,
    last_copd_review_date,
    has_copd_review_12m,
    last_medication_review_date,
    has_medication_review_12m,
    last_ld_health_check_date,
    has_ld_health_check_12m,
    coalesce(antenatal_bookings_12m, 0) as antenatal_bookings_12m,
    latest_antenatal_booking_date,
    gestation_days as antenatal_gestation_days,
    case
        when latest_antenatal_booking_date is null then null
        else coalesce(gestation_days <= {{ threshold('maternity_gestation_days') }}, false)
    end as is_antenatal_booked_by_10_weeks
from flags
