with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

themed_feedback as (

    -- a theme needs a category: items not enriched yet are left out until they are
    select
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

aggregated as (

    select
        created_date,
        category,
        product_area,
        channel,
        locale,
        count(*) as feedback_count,
        sum(case when is_negative then 1 else 0 end) as negative_count,
        -- summed as a fixed-point decimal: a float sum depends on the order rows arrive in, and a re-run
        -- must give the same value to the last digit
        cast(
            sum(cast(sentiment_score as decimal(18, 6))) / count(sentiment_score) as decimal(18, 6)
        ) as mean_sentiment

    from themed_feedback
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
        mean_sentiment

    from aggregated

)

select * from final
