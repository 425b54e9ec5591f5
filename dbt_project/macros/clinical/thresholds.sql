{#- Thresholds are data (seeds/thresholds.csv, one row per rule_id), never literals in a model: a local clinical
    lead edits the seed and the next refresh uses the new value. Every macro below takes the rule id as its FIRST
    argument, as a quoted literal: the seed's `used_in_models_exist` test (seeds/_thresholds.yml) scans the models'
    SQL for these calls and fails when a rule id they use has no row.

    threshold('rule_id') renders an uncorrelated scalar subquery on ref('thresholds'), so the value is read at
    run time (DuckDB and Spark evaluate it once). A rule id missing from the seed would give null, hence the test. -#}
{% macro threshold(rule_id) -%}
    {%- if not modules.re.match('^[a-z0-9_]+$', rule_id | string) -%}
        {{ exceptions.raise_compiler_error("threshold(): rule_id must be a snake_case literal, got '" ~ rule_id ~ "'") }}
    {%- endif -%}
    (select value from {{ ref('thresholds') }} where rule_id = '{{ rule_id }}')
{%- endmacro %}


{#- The same value as an integer (ages, counts, months). -#}
{% macro threshold_int(rule_id) -%}
    cast({{ phm.threshold(rule_id) }} as {{ dbt.type_int() }})
{%- endmacro %}


{#- First excluded day of a lookback window ending on the reference date. The unit comes from the rule id's suffix
    (_days, _weeks, _months, _years) so the seed row and the SQL cannot disagree on it. -#}
{% macro lookback_start(rule_id) -%}
    {%- set units = {'days': 'day', 'weeks': 'week', 'months': 'month', 'years': 'year'} -%}
    {%- set suffix = (rule_id | string).split('_')[-1] -%}
    {%- if suffix not in units -%}
        {{ exceptions.raise_compiler_error("lookback rule id '" ~ rule_id ~ "' must end in _days, _weeks, _months or _years") }}
    {%- endif -%}
    cast({{ dbt.dateadd(units[suffix], '-1 * ' ~ phm.threshold_int(rule_id), phm.reference_date()) }} as date)
{%- endmacro %}


{#- Clinical spec: "in the last 12 months" = date in (reference date - 12 months, reference date]; 6 months and
    5 years likewise. Open at the start (the day exactly 12 months before is out), closed at the reference date
    (events after it are ignored: point-in-time rebuild). -#}
{% macro in_lookback(rule_id, date_column) -%}
    ({{ date_column }} > {{ phm.lookback_start(rule_id) }} and {{ date_column }} <= {{ phm.reference_date() }})
{%- endmacro %}


{#- A date from year / month / day expressions. dbt.date() only takes literals; make_date exists in DuckDB,
    Spark 3+ and Postgres. -#}
{% macro make_date(year_expression, month_expression, day_expression) -%}
    {{ return(adapter.dispatch('make_date', 'phm')(year_expression, month_expression, day_expression)) }}
{%- endmacro %}

{% macro default__make_date(year_expression, month_expression, day_expression) -%}
    make_date({{ year_expression }}, {{ month_expression }}, {{ day_expression }})
{%- endmacro %}


{#- The flu season the clinical spec calls "current": 1 September (flu_season_start_month) to the end of March
    (flu_season_end_month) of the next year. The season starts in the reference date's year if the reference
    month is on or after the start month, else in the year before; so a reference date in April-August gets the
    season that ended that March (the last complete season), and one in September-March the season in progress.
    Assumes the season crosses the year end (start month > end month). -#}
{% macro flu_season_start_year() -%}
    ({{ phm.date_part_number('year', phm.reference_date()) }}
     - case when {{ phm.date_part_number('month', phm.reference_date()) }} >= {{ phm.threshold_int('flu_season_start_month') }}
            then 0 else 1 end)
{%- endmacro %}

{% macro flu_season_start() -%}
    {{ phm.make_date(phm.flu_season_start_year(), phm.threshold_int('flu_season_start_month'), 1) }}
{%- endmacro %}

{#- Last day of the end month: first day of the end month in the next year, plus one month, minus one day. -#}
{% macro flu_season_end() -%}
    cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 1,
        phm.make_date(phm.flu_season_start_year() ~ ' + 1', phm.threshold_int('flu_season_end_month'), 1))) }} as date)
{%- endmacro %}


{#- True when `measure <operator> value` for the rule, with BOTH the value and the operator read from the seed at
    run time, so a rule can change from strict to inclusive (as hypertension to target did in clinical-spec v2)
    by editing the seed alone. Null when the measure is null. -#}
{% macro meets_threshold(rule_id, measure) -%}
    (case (select operator from {{ ref('thresholds') }} where rule_id = '{{ rule_id }}')
        when '<' then {{ measure }} < {{ phm.threshold(rule_id) }}
        when '<=' then {{ measure }} <= {{ phm.threshold(rule_id) }}
        when '>' then {{ measure }} > {{ phm.threshold(rule_id) }}
        when '>=' then {{ measure }} >= {{ phm.threshold(rule_id) }}
        when '=' then {{ measure }} = {{ phm.threshold(rule_id) }}
    end)
{%- endmacro %}
