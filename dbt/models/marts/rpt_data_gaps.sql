{%- set gap_min_daily_volume = var('gap_min_daily_volume', 5) -%}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

channel_volumes as (

    select
        created_date,
        channel,
        count(*) as volume

    from feedback
    group by
        created_date,
        channel

),

calendar_days as (

    select created_date from {{ ref('int_calendar_days') }}

),

channels as (

    select distinct channel
    from channel_volumes

),

channel_days as (

    select
        calendar_days.created_date,
        channels.channel,
        coalesce(channel_volumes.volume, 0) as volume

    from channels
    cross join calendar_days
    left join channel_volumes
        on channels.channel = channel_volumes.channel
        and calendar_days.created_date = channel_volumes.created_date

),

trailing_levels as (

    select
        channel_day.created_date,
        channel_day.channel,
        channel_day.volume,
        percentile_cont(0.5) within group (order by trailing_day.volume) as usual_daily_volume

    from channel_days as channel_day
    inner join channel_days as trailing_day
        on channel_day.channel = trailing_day.channel
        and channel_day.created_date > trailing_day.created_date
        and trailing_day.created_date >= {{ dbt.dateadd('day', -7, 'channel_day.created_date') }}
    group by
        channel_day.created_date,
        channel_day.channel,
        channel_day.volume

),

-- a channel that usually sends feedback every day and sent none is missing data (a failed export or
-- connector), reported as such — not read as a drop in complaints
final as (

    select
        created_date,
        channel,
        usual_daily_volume,
        'no records from this channel; it usually sends about '
            || cast(cast(round(usual_daily_volume, 0) as integer) as {{ dbt.type_string() }})
            || ' a day' as gap_reason

    from trailing_levels
    where volume = 0
        and usual_daily_volume >= {{ gap_min_daily_volume }}

)

select * from final
