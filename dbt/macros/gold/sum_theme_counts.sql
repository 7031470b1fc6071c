{#
    The counts of int_theme_hourly added up to a coarser grain, as select expressions (feedback_count,
    negative_count, scored_count, sentiment_sum) for a `group by` over int_theme_hourly rows. Each sum keeps
    the type a count or sum over the items themselves has (sum of bigint widens on DuckDB, sum of decimal
    widens on Spark), so a mean taken from them rounds as one taken from the items would, on every engine.
#}
{% macro sum_theme_counts() -%}
    cast(sum(feedback_count) as bigint) as feedback_count,
        sum(negative_count) as negative_count,
        cast(sum(scored_count) as bigint) as scored_count,
        cast(sum(sentiment_sum) as decimal(28, 6)) as sentiment_sum
{%- endmacro %}
