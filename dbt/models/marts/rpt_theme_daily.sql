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
        count(*) as feedback_count,
        sum(case when is_negative then 1 else 0 end) as negative_count,
        avg(sentiment_score) as mean_sentiment

    from themed_feedback
    group by
        created_date,
        category,
        product_area,
        channel

),

final as (

    select
        created_date,
        category,
        product_area,
        channel,
        feedback_count,
        negative_count,
        1.0 * negative_count / feedback_count as negative_share,
        mean_sentiment

    from aggregated

)

select * from final
