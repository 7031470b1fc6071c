{%- set window_days = 3 -%}
{%- set min_share = var('sustained_negative_min_share', 0.6) -%}
{%- set min_volume = var('sustained_negative_min_volume', 15) -%}
{%- set min_rise = var('sustained_negative_min_rise', 0.15) -%}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

-- a feature is the product area the feedback is about
daily_sentiment as (

    select
        created_date,
        product_area,
        count(*) as volume,
        sum(case when is_negative then 1 else 0 end) as negative_count

    from feedback
    where is_enriched and product_area is not null
    group by
        created_date,
        product_area

),

-- each day of a feature paired with the feature's days up to it: the window's {{ window_days }} days and the two
-- weeks before them
day_pairs as (

    select
        this_day.created_date,
        this_day.product_area,
        recent.created_date as recent_date,
        recent.volume,
        recent.negative_count,
        recent.created_date > {{ dbt.dateadd('day', -window_days, 'this_day.created_date') }} as is_in_window

    from daily_sentiment as this_day
    inner join daily_sentiment as recent
        on this_day.product_area = recent.product_area
        and this_day.created_date >= recent.created_date
        and recent.created_date > {{ dbt.dateadd('day', -(window_days + 14), 'this_day.created_date') }}

),

windows as (

    select
        created_date,
        product_area,
        sum(case when is_in_window then volume else 0 end) as window_volume,
        sum(case when is_in_window then negative_count else 0 end) as window_negative,
        min(case when is_in_window then 1.0 * negative_count / volume end) as window_min_daily_share,
        count(distinct case when is_in_window then recent_date end) as window_days_with_data,
        sum(case when not is_in_window then volume else 0 end) as before_volume,
        sum(case when not is_in_window then negative_count else 0 end) as before_negative

    from day_pairs
    group by
        created_date,
        product_area

),

scored as (

    select
        created_date,
        product_area,
        window_volume,
        1.0 * window_negative / nullif(window_volume, 0) as window_negative_share,
        window_min_daily_share,
        1.0 * before_negative / nullif(before_volume, 0) as before_negative_share

    from windows
    where window_days_with_data = {{ window_days }}

),

final as (

    select
        *,
        -- negative every day of the window, clearly more negative than the two weeks before, on real volume
        coalesce(
            window_volume >= {{ min_volume }}
            and window_min_daily_share >= {{ min_share }}
            and window_negative_share >= before_negative_share + {{ min_rise }},
            false
        ) as is_sustained_negative

    from scored

)

select * from final
