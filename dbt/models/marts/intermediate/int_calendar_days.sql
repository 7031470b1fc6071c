{#-
    The calendar spine of gold: one row per calendar day from the first to the last day of feedback, days
    without any feedback included, so a mart that walks a window over days sees a quiet or missing day as a
    row instead of skipping it. is_in_enriched_span marks the days from the first to the last day of enriched
    feedback: the span of the marts that count themes (enriched items only).
-#}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

date_bounds as (

    select
        min(created_date) as first_date,
        max(created_date) as last_date,
        min(case when is_enriched then created_date end) as first_enriched_date,
        max(case when is_enriched then created_date end) as last_enriched_date

    from feedback

),

calendar as (

    select
        {{ date_series('first_date', 'last_date') }} as calendar_day,
        first_enriched_date,
        last_enriched_date

    from date_bounds

),

final as (

    select
        cast(calendar_day as date) as created_date,
        coalesce(
            cast(calendar_day as date) between first_enriched_date and last_enriched_date, false
        ) as is_in_enriched_span

    from calendar

)

select * from final
