{#-
    The finest theme grain of gold: enriched feedback counted per (created_hour, category, product_area,
    channel, locale). rpt_theme_hourly reads it as is; rpt_theme_daily, rpt_sentiment_trends and
    rpt_theme_spikes add its hours up to their own grains, so every theme mart counts the same items the same
    way. Sums, not means: the sums of the hours of a day are the day's sums, and a mean is taken last.
-#}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

themed_feedback as (

    -- a theme needs a category: items not enriched yet are left out until they are
    select
        created_hour,
        created_date,
        category,
        product_area,
        channel,
        locale,
        is_negative,
        sentiment_score

    from feedback
    where is_enriched

),

final as (

    select
        created_hour,
        created_date,
        category,
        product_area,
        channel,
        locale,
        count(*) as feedback_count,
        sum(case when is_negative then 1 else 0 end) as negative_count,
        count(sentiment_score) as scored_count,
        -- summed as a fixed-point decimal: a float sum depends on the order rows arrive in, and a re-run
        -- must give the same value to the last digit
        sum(cast(sentiment_score as decimal(18, 6))) as sentiment_sum

    from themed_feedback
    group by
        created_hour,
        created_date,
        category,
        product_area,
        channel,
        locale

)

select * from final
