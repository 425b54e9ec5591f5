-- Everyone on every target list (clinical spec, "Target patient lists"), before ranking: one row per person x list,
-- with the reasons, the recommended action and the sort keys of the list's priority order. Lists are defined in
-- seeds/target_list_definitions.csv (list_kind decides how its members are found):
--   * your_healthier_futures: adults in the Medium, High or Very high tier with reversible_factor_count >= 1;
--     priority: tier, then factor count, then score;
--   * pathway_red / pathway_amber: the pathway's Red / Amber people (marts.pathway_status); priority: rules fired,
--     then risk score; the action is the person's own next action;
--   * high_intensity_users: A&E attendances >= high_intensity_ae in 12 months; priority: attendances, then score;
--   * waiting_well: everyone on the Waiting Well pathway; priority: longest wait, then score;
--   * indicator_gap: the people an indicator counts against, by its direction (indicator_definitions): in the
--     denominator and not the numerator when higher is better, in the numerator when lower is better; priority:
--     risk score.
-- Type 1 opt-outs stay on the lists: these are for direct care by the person's own practice.
with definitions as (
    select list_name, list_kind, source_id, recommended_action
    from {{ ref('target_list_definitions') }}
),

facts as (
    select person_id, risk_score, risk_tier_order, ae_attendances_12m, longest_rtt_wait_days
    from {{ ref('int_pathways__person_facts') }}
),

your_healthier_futures as (
    select
        definitions.list_name,
        risk.person_id,
        {{ dbt.concat(["'risk tier '", 'risk.risk_tier', "' (score '", text_number('risk.risk_score', 1), "'): '",
                       'risk.factor_reasons']) }} as reasons,
        definitions.recommended_action,
        cast(5 - risk.risk_tier_order as {{ dbt.type_float() }}) as sort_key_1,
        cast(risk.reversible_factor_count as {{ dbt.type_float() }}) as sort_key_2,
        risk.risk_score as sort_key_3
    from {{ ref('reversible_risk') }} as risk
    inner join definitions
        on definitions.list_kind = 'your_healthier_futures'
    where risk.risk_tier in ('Very high', 'High', 'Medium')
      and risk.reversible_factor_count >= 1
),

pathway_lists as (
    select
        definitions.list_name,
        pathways.person_id,
        pathways.reasons,
        coalesce(nullif(definitions.recommended_action, ''), pathways.next_action) as recommended_action,
        cast(pathways.rules_fired as {{ dbt.type_float() }}) as sort_key_1,
        pathways.risk_score as sort_key_2,
        cast(0 as {{ dbt.type_float() }}) as sort_key_3
    from {{ ref('pathway_status') }} as pathways
    inner join definitions
        on pathways.pathway = definitions.source_id
        and (
            (definitions.list_kind = 'pathway_red' and pathways.rag = 'Red')
            or (definitions.list_kind = 'pathway_amber' and pathways.rag = 'Amber')
            or definitions.list_kind = 'waiting_well'
        )
),

high_intensity_users as (
    select
        definitions.list_name,
        facts.person_id,
        {{ dbt.concat([text_number('facts.ae_attendances_12m'), "' A&E attendances in 12 months'"]) }} as reasons,
        definitions.recommended_action,
        cast(facts.ae_attendances_12m as {{ dbt.type_float() }}) as sort_key_1,
        facts.risk_score as sort_key_2,
        cast(0 as {{ dbt.type_float() }}) as sort_key_3
    from facts
    inner join definitions
        on definitions.list_kind = 'high_intensity_users'
    where facts.ae_attendances_12m >= {{ threshold_int('high_intensity_ae') }}
),

indicator_gaps as (
    select
        definitions.list_name,
        long.person_id,
        case indicators.direction
            when 'lower_is_better' then {{ dbt.concat(['indicators.denominator', "': '", 'indicators.numerator']) }}
            else {{ dbt.concat(['indicators.denominator', "'; not done: '", 'indicators.numerator']) }}
        end as reasons,
        definitions.recommended_action,
        facts.risk_score as sort_key_1,
        cast(0 as {{ dbt.type_float() }}) as sort_key_2,
        cast(0 as {{ dbt.type_float() }}) as sort_key_3
    from {{ ref('int_indicators__person_long') }} as long
    inner join definitions
        on definitions.list_kind = 'indicator_gap'
        and long.indicator_id = definitions.source_id
    inner join {{ ref('indicator_definitions') }} as indicators
        on long.indicator_id = indicators.indicator_id
    inner join facts
        on long.person_id = facts.person_id
    where long.is_denominator
      and (
          (indicators.direction = 'higher_is_better' and not long.is_numerator)
          or (indicators.direction = 'lower_is_better' and long.is_numerator)
      )
)

select * from your_healthier_futures
union all
select * from pathway_lists
union all
select * from high_intensity_users
union all
select * from indicator_gaps
