{#-
    Daily sentiment per category with a 7-day rolling view. The rolling figures are pooled over the items of
    the window (sum of scores / scored items), not a mean of daily means, so a quiet day weighs what its items
    weigh. Days without feedback of a category are kept as rows with 0 items (the calendar runs from the
    first to the last day of enriched data), so "7 days" is always 7 calendar days.
-#}
{%- set window_days = 7 -%}

with

theme_hours as (

    select * from {{ ref('int_theme_hourly') }}

),

calendar_days as (

    select created_date from {{ ref('int_calendar_days') }}
    where is_in_enriched_span

),

daily as (

    select
        created_date,
        category,
        {{ sum_theme_counts() }}

    from theme_hours
    group by
        created_date,
        category

),

categories as (

    select distinct category from daily

),

category_days as (

    select
        calendar_days.created_date,
        categories.category

    from calendar_days
    cross join categories

),

filled as (

    select
        category_days.created_date,
        category_days.category,
        coalesce(daily.feedback_count, 0) as feedback_count,
        coalesce(daily.negative_count, 0) as negative_count,
        coalesce(daily.scored_count, 0) as scored_count,
        coalesce(daily.sentiment_sum, 0) as sentiment_sum

    from category_days
    left join daily
        on category_days.created_date = daily.created_date
        and category_days.category = daily.category

),

rolling as (

    select
        *,
        sum(feedback_count) over trailing_week as rolling_feedback_count,
        sum(negative_count) over trailing_week as rolling_negative_count,
        sum(scored_count) over trailing_week as rolling_scored_count,
        sum(sentiment_sum) over trailing_week as rolling_sentiment_sum,
        count(*) over trailing_week as rolling_days

    from filled
    window trailing_week as (
        partition by category
        order by created_date
        rows between {{ window_days - 1 }} preceding and current row
    )

),

final as (

    select
        created_date,
        category,
        feedback_count,
        negative_count,
        case
            when feedback_count > 0 then round(1.0 * negative_count / feedback_count, 6)
        end as negative_share,
        cast(sentiment_sum / nullif(scored_count, 0) as decimal(18, 6)) as mean_sentiment,
        rolling_days,
        rolling_feedback_count as rolling_7d_feedback_count,
        case
            when rolling_feedback_count > 0
                then round(1.0 * rolling_negative_count / rolling_feedback_count, 6)
        end as rolling_7d_negative_share,
        cast(rolling_sentiment_sum / nullif(rolling_scored_count, 0) as decimal(18, 6))
            as rolling_7d_mean_sentiment

    from rolling

)

select * from final
