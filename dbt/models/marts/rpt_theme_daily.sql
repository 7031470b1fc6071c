with

theme_hours as (

    select * from {{ ref('int_theme_hourly') }}

),

aggregated as (

    -- the hours of a day added up (sums of sums: the same figures as summing the day's items)
    select
        created_date,
        category,
        product_area,
        channel,
        locale,
        {{ sum_theme_counts() }}

    from theme_hours
    group by
        created_date,
        category,
        product_area,
        channel,
        locale

),

final as (

    select
        created_date,
        category,
        product_area,
        channel,
        locale,
        feedback_count,
        negative_count,
        1.0 * negative_count / feedback_count as negative_share,
        cast(sentiment_sum / scored_count as decimal(18, 6)) as mean_sentiment

    from aggregated

)

select * from final
