-- Published: one row per person x pathway they are on (clinical spec, "Eclipse-style pathways"; a person can be on
-- several). rag: Red when any Red rule fired (a safety or severe-risk criterion), else Amber when any Amber rule
-- fired (a target missed or a care process overdue), else Green. reasons: every rule that fired, Red first then by
-- the rule's priority, with its value and date; for Green, what was met. next_action: the action of the most urgent
-- rule that fired (seeds/pathway_rules.csv), or the pathway's routine action when Green.
with hits as (
    select
        hits.person_id,
        hits.pathway,
        hits.rule_id,
        hits.reason,
        rules.rag,
        rules.next_action,
        row_number() over (
            partition by hits.person_id, hits.pathway
            order by case rules.rag when 'Red' then 1 else 2 end, rules.priority, hits.rule_id
        ) as urgency_rank
    from {{ ref('int_pathways__rule_hits') }} as hits
    inner join {{ ref('pathway_rules') }} as rules
        on hits.rule_id = rules.rule_id
        and hits.pathway = rules.pathway
),

summarised as (
    select
        person_id,
        pathway,
        max(case when rag = 'Red' then 1 else 0 end) as has_red,
        count(*) as rules_fired,
        {{ dbt.listagg('reason', "'; '", 'order by urgency_rank') }} as reasons,
        max(case when urgency_rank = 1 then next_action end) as next_action,
        max(case when urgency_rank = 1 then rule_id end) as most_urgent_rule_id
    from hits
    group by person_id, pathway
),

eligible as (
    select distinct person_id, pathway
    from {{ ref('int_pathways__rule_hits') }}
    where rule_id is null
),

facts as (
    select person_id, practice_code, neighbourhood, risk_score, risk_tier, has_type1_opt_out
    from {{ ref('int_pathways__person_facts') }}
)

select
    eligible.person_id,
    eligible.pathway,
    case
        when summarised.has_red = 1 then 'Red'
        when summarised.rules_fired > 0 then 'Amber'
        else 'Green'
    end as rag,
    coalesce(summarised.reasons, {{ dbt.concat(["'all met: '", 'definitions.green_reason']) }}, 'on the pathway') as reasons,
    coalesce(summarised.next_action, definitions.green_next_action) as next_action,
    -- Extras beyond the contract.
    coalesce(summarised.rules_fired, 0) as rules_fired,
    summarised.most_urgent_rule_id,
    definitions.pathway_kind,
    definitions.sort_order as pathway_sort_order,
    facts.practice_code,
    facts.neighbourhood,
    facts.risk_score,
    facts.risk_tier,
    facts.has_type1_opt_out as type1_opt_out,
    {{ reference_date() }} as reference_date
from eligible
inner join {{ ref('pathway_definitions') }} as definitions
    on eligible.pathway = definitions.pathway
inner join facts
    on eligible.person_id = facts.person_id
left join summarised
    on eligible.person_id = summarised.person_id
    and eligible.pathway = summarised.pathway
