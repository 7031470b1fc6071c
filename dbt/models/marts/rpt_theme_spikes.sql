{%- set trailing_days = 7 -%}
{%- set spike_min_volume = var('spike_min_volume', 10) -%}
{%- set spike_min_baseline_days = var('spike_min_baseline_days', trailing_days) -%}
{%- set weekday_adjusted = var('spike_weekday_adjusted', true) -%}

with

theme_hours as (

    select * from {{ ref('int_theme_hourly') }}

),

daily_volumes as (

    select
        created_date,
        category,
        product_area,
        cast(sum(feedback_count) as bigint) as volume,
        sum(negative_count) as negative_count

    from theme_hours
    group by
        created_date,
        category,
        product_area

),

-- the days with feedback: a day with none at all is missing data (an export that did not arrive), not a quiet
-- day, so it is no row here and is left out of every baseline instead of counting as zero volume
-- (rpt_data_gaps lists these days)
data_days as (

    select
        created_date,
        sum(volume) as total_volume,
        {{ day_of_week('created_date') }} as day_of_week

    from daily_volumes
    group by created_date

),

-- how busy each weekday is against a typical day (weekends are quieter): volumes are divided by this factor
-- before they are compared, so a busy Monday is not a spike and a quiet Sunday is not a drop. The medians are
-- window aggregates over data_days, so data_days is read once (each extra reference of a CTE is inlined again
-- by Spark's optimizer, and this model's plan is large).
weekday_factors as (

    select
        created_date,
        {% if weekday_adjusted -%}
        greatest(
            median(total_volume) over (partition by day_of_week)
                / greatest(median(total_volume) over (), 1),
            0.25
        )
        {%- else -%}
        1.0
        {%- endif %} as weekday_factor

    from data_days

),

themes as (

    select distinct
        category,
        product_area

    from daily_volumes

),

-- every data day for every theme: a day without feedback on a theme is a volume of 0.
-- product_area may be null (a theme of its own): it is joined with `is not distinct from`.
theme_days as (

    select
        weekday_factors.created_date,
        themes.category,
        themes.product_area,
        coalesce(daily_volumes.volume, 0) as volume,
        coalesce(daily_volumes.negative_count, 0) as negative_count,
        weekday_factors.weekday_factor,
        coalesce(daily_volumes.volume, 0) / weekday_factors.weekday_factor as adjusted_volume

    from themes
    cross join weekday_factors
    left join daily_volumes
        on themes.category = daily_volumes.category
        and themes.product_area is not distinct from daily_volumes.product_area
        and weekday_factors.created_date = daily_volumes.created_date

),

-- the data days among the previous {{ trailing_days }} calendar days of each theme-day
trailing_windows as (

    select
        theme_day.created_date,
        theme_day.category,
        theme_day.product_area,
        trailing_day.adjusted_volume as trailing_volume

    from theme_days as theme_day
    inner join theme_days as trailing_day
        on theme_day.category = trailing_day.category
        and theme_day.product_area is not distinct from trailing_day.product_area
        and theme_day.created_date > trailing_day.created_date
        and trailing_day.created_date >= {{ dbt.dateadd('day', -trailing_days, 'theme_day.created_date') }}

),

-- the window's median on every trailing row, so the deviations need no join back to the medians
trailing_medians as (

    select
        created_date,
        category,
        product_area,
        trailing_volume,
        median(trailing_volume) over (partition by created_date, category, product_area) as baseline_median

    from trailing_windows

),

baselines as (

    select
        created_date,
        category,
        product_area,
        count(*) as baseline_days,
        max(baseline_median) as baseline_median,
        -- median absolute deviation from the window's median
        percentile_cont(0.5) within group (order by abs(trailing_volume - baseline_median)) as mad

    from trailing_medians
    group by
        created_date,
        category,
        product_area

),

scored as (

    select
        theme_days.created_date,
        theme_days.category,
        theme_days.product_area,
        theme_days.volume,
        theme_days.negative_count,
        1.0 * theme_days.negative_count / theme_days.volume as negative_share,
        theme_days.weekday_factor,
        coalesce(baselines.baseline_days, 0) as baseline_days,
        baselines.baseline_median,
        baselines.baseline_median * theme_days.weekday_factor as expected_volume,
        baselines.mad,
        -- robust z on weekday-adjusted volumes: 1.4826 * MAD estimates the standard deviation, and the floor
        -- of 1 keeps flat baselines from exploding
        (theme_days.adjusted_volume - baselines.baseline_median)
            / greatest(1.4826 * baselines.mad, 1) as robust_z

    from theme_days
    left join baselines
        on theme_days.created_date = baselines.created_date
        and theme_days.category = baselines.category
        and theme_days.product_area is not distinct from baselines.product_area
    where theme_days.volume > 0

),

flagged as (

    select
        *,
        -- a theme-day needs a full trailing window to be judged: early days have no reliable baseline
        coalesce(
            baseline_days >= {{ spike_min_baseline_days }}
            and volume >= {{ spike_min_volume }}
            and volume >= 3 * greatest(expected_volume, 1)
            and robust_z >= 3.5,
            false
        ) as is_spike

    from scored

),

final as (

    select * from flagged

)

select * from final
