{#-
    A table, not incremental: an item re-labelled by a re-enrichment or a reviewer moves from one group to
    another, so an incremental aggregate would have to find and re-aggregate every hour an item left as well
    as the one it joined. The counts come from int_theme_hourly (the theme grain every theme mart shares),
    which reads only fct_feedback (itself incremental), which keeps it cheap.
-#}

with

theme_hours as (

    select * from {{ ref('int_theme_hourly') }}

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
        cast(sentiment_sum / scored_count as decimal(18, 6)) as mean_sentiment

    from theme_hours

)

select * from final
