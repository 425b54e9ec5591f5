-- Reporting periods of the Better Care Fund metrics: the rolling 12 months ending on the reference date (offset 0)
-- and each of the bcf_previous_periods 12-month periods before it, so a trend can be drawn. A period is
-- (period_end - 12 months, period_end], the same half-open window as in_lookback: period_start is the first day in
-- it, and consecutive periods neither overlap nor leave a gap. Labelled 'YYYY-MM-DD..YYYY-MM-DD'.
-- At most 20 previous periods (the offsets generated below); the activity feeds hold 5 years, so 4 is the useful maximum.
{%- set max_periods = 21 %}
with offsets as (
    {%- for offset in range(max_periods) %}
    select {{ offset }} as period_offset_years
    {%- if not loop.last %} union all{% endif %}
    {%- endfor %}
),

periods as (
    select
        period_offset_years,
        cast({{ dbt.dateadd('year', '-1 * period_offset_years', reference_date()) }} as date) as period_end
    from offsets
    where period_offset_years <= {{ threshold_int('bcf_previous_periods') }}
),

bounded as (
    select
        period_offset_years,
        cast({{ dbt.dateadd('day', 1, dbt.dateadd('year', -1, 'period_end')) }} as date) as period_start,
        period_end
    from periods
)

select
    {{ dbt.concat(["cast(period_start as " ~ dbt.type_string() ~ ")", "'..'",
                   "cast(period_end as " ~ dbt.type_string() ~ ")"]) }} as period,
    period_offset_years,
    period_start,
    period_end
from bounded
