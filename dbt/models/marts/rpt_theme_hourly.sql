{#-
    A table, not incremental: an item re-labelled by a re-enrichment or a reviewer moves from one group to
    another, so an incremental aggregate would have to find and re-aggregate every hour an item left as well
    as the one it joined. The aggregate reads only fct_feedback (itself incremental), which keeps it cheap.
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

aggregated as (

    select
        created_hour,
        created_date,
        category,
        product_area,
        channel,
        locale,
        count(*) as feedback_count,
        sum(case when is_negative then 1 else 0 end) as negative_count,
        -- fixed-point sum, as in rpt_theme_daily: a re-run gives the same value to the last digit
        cast(
            sum(cast(sentiment_score as decimal(18, 6))) / count(sentiment_score) as decimal(18, 6)
        ) as mean_sentiment

    from themed_feedback
    group by
        created_hour,
        created_date,
        category,
        product_area,
        channel,
        locale

),

final as (

    select
        created_hour,
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
