{#- A banding table (min/max per row, last band open-ended with a null max) covers every integer from its
    lowest min upwards with no gap or overlap: each band starts one after the previous band's max. -#}
{% test contiguous_ranges(model, lower_column, upper_column, order_column) %}
with ordered as (
    select
        {{ lower_column }} as lower_bound,
        {{ upper_column }} as upper_bound,
        lag({{ upper_column }}) over (order by {{ order_column }}) as previous_upper_bound,
        row_number() over (order by {{ order_column }}) as band_number,
        count(*) over () as n_bands
    from {{ model }}
)
select *
from ordered
where (band_number > 1 and (previous_upper_bound is null or lower_bound <> previous_upper_bound + 1))
   or (upper_bound is not null and upper_bound < lower_bound)
   or (band_number < n_bands and upper_bound is null)
   or (band_number = n_bands and upper_bound is not null)
{% endtest %}
