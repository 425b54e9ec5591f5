{#- Generic tests that a published aggregate obeys disclosure control (clinical spec). Applied to every count
    column of marts.core20plus5_indicators and marts.bcf_metrics. Each returns the offending rows. -#}

{#- No published count between sdc_suppress_min and sdc_suppress_max (1-7): such a row must be suppressed. -#}
{% test sdc_no_small_counts(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} >= {{ phm.threshold_int('sdc_suppress_min') }}
  and {{ column_name }} <= {{ phm.threshold_int('sdc_suppress_max') }}
{% endtest %}


{#- Every published count is a multiple of sdc_rounding_base (5). -#}
{% test sdc_rounded(model, column_name) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and {{ column_name }} <> {{ phm.sdc_round(column_name, phm.threshold_int('sdc_rounding_base')) }}
{% endtest %}


{#- A suppressed row publishes no count and no value; an unsuppressed row publishes both counts. -#}
{% test sdc_suppressed_rows_are_empty(model, suppressed_column='suppressed', count_columns=['numerator', 'denominator'], value_column='value') %}
select *
from {{ model }}
where ({{ suppressed_column }}
       and ({% for column in count_columns %}{{ column }} is not null or {% endfor %}{{ value_column }} is not null))
   or (not {{ suppressed_column }}
       and ({% for column in count_columns %}{{ column }} is null{{ ' or ' if not loop.last }}{% endfor %}))
   or {{ suppressed_column }} is null
{% endtest %}
