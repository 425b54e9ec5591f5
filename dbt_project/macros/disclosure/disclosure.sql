{#- Statistical disclosure control for published aggregates (clinical spec, Disclosure control):
      * any numerator or denominator from sdc_suppress_min to sdc_suppress_max (1-7) -> the row is suppressed:
        numerator, denominator and value null, suppressed = true (0 is published: it discloses nothing about a person);
      * every published count is rounded to the nearest sdc_rounding_base (5), halves up (portable: floor(x/5 + 0.5));
      * value is computed from the ROUNDED counts, so a reader can never recover an unrounded count by
        combining value with a published count, or by differencing two overlapping groups' values.
    The thresholds are passed in by the model as expressions (e.g. the columns of a CTE that reads
    threshold_int('sdc_suppress_max')), so the thresholds seed's used_in_models_exist guard sees the rule ids. -#}

{#- True when any of the count expressions is in [suppress_min, suppress_max]. -#}
{% macro sdc_is_suppressed(count_expressions, suppress_min, suppress_max) -%}
    (
    {%- for count_expression in count_expressions %}
        ({{ count_expression }} >= {{ suppress_min }} and {{ count_expression }} <= {{ suppress_max }})
        {%- if not loop.last %} or{% endif %}
    {%- endfor %}
    )
{%- endmacro %}


{#- A count rounded to the nearest multiple of base (halves up: 2.5 -> 5, 12.5 -> 15). -#}
{% macro sdc_round(count_expression, base) -%}
    cast(floor(({{ count_expression }}) * 1.0 / ({{ base }}) + 0.5) * ({{ base }}) as {{ dbt.type_int() }})
{%- endmacro %}


{#- The published count: null when the row is suppressed, else rounded. -#}
{% macro sdc_publish_count(count_expression, is_suppressed, base) -%}
    case when {{ is_suppressed }} then null else {{ phm.sdc_round(count_expression, base) }} end
{%- endmacro %}


{#- The published value from PUBLISHED (rounded) counts: numerator / denominator x multiplier (100 for percent,
    1000 or 100000 for rates), to `decimals` places; null when suppressed or the denominator is 0. -#}
{% macro sdc_value(published_numerator, published_denominator, multiplier, decimals=1) -%}
    case
        when {{ published_denominator }} > 0
        then round(cast({{ published_numerator }} as double) * ({{ multiplier }}) / {{ published_denominator }}, {{ decimals }})
    end
{%- endmacro %}


{#- Secondary suppression (complementary suppression, ONS and OpenSAFELY output checking: a suppressed count must not
    be recoverable from the other published figures, e.g. as a total minus the other cells). Within each group of
    cells that add up to a published total (partition_by), when exactly one cell is primary-suppressed and
    in_breakdown holds, the smallest other cell (ordered by order_by, ties broken by the later expressions) is
    suppressed as well. Two suppressed cells of one group cannot be told apart by differencing. -#}
{% macro sdc_is_secondary(is_primary, partition_by, in_breakdown, order_by) -%}
    (
        {{ in_breakdown }}
        and not {{ is_primary }}
        and sum(case when {{ is_primary }} then 1 else 0 end) over (partition by {{ partition_by | join(', ') }}) = 1
        and row_number() over (
            partition by {{ partition_by | join(', ') }}, {{ is_primary }} order by {{ order_by | join(', ') }}
        ) = 1
    )
{%- endmacro %}
