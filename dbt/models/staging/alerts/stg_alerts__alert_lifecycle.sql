with

incidents as (

    select * from {{ source('alerts', 'alert_incidents') }}

),

events as (

    select * from {{ source('alerts', 'alert_events') }}

),

ranked_events as (

    select
        *,
        -- an alert's acknowledgement / resolution is its first event of that kind (repeats are not recorded)
        row_number() over (
            partition by alert_id, event
            order by occurred_at, event_id
        ) as event_rank

    from events

),

acknowledgements as (

    select * from ranked_events
    where event = 'acknowledged' and event_rank = 1

),

resolutions as (

    select * from ranked_events
    where event = 'resolved' and event_rank = 1

),

final as (

    select
        incidents.alert_id,
        -- rows written before the column existed are customer-theme alerts
        coalesce(incidents.kind, 'theme_spike') as kind,
        incidents.category,
        incidents.product_area,
        incidents.opened_at,
        cast(incidents.opened_at as date) as opened_date,
        acknowledgements.occurred_at as acknowledged_at,
        acknowledgements.actor as acknowledged_by,
        resolutions.occurred_at as resolved_at,
        resolutions.actor as resolved_by,
        resolutions.note as resolution_note

    from incidents
    left join acknowledgements
        on incidents.alert_id = acknowledgements.alert_id
    left join resolutions
        on incidents.alert_id = resolutions.alert_id

)

select * from final
