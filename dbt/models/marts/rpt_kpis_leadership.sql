{#-
    The leadership KPIs of the blueprint, per day: how fast the organisation acts on what customers signal.
    "Signal to action" starts at the earliest feedback item an alert named (the customer's signal, a data
    time) and ends at the alert's first acknowledgement (a person acting, wall-clock time); the SLA of an
    urgent item depends on its urgency (var urgent_ack_sla_minutes).
-#}
{%- set sla_minutes = var('urgent_ack_sla_minutes', {'critical': 60, 'high': 240}) -%}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

alerted_items as (

    select * from {{ ref('stg_alerts__alerted_items') }}

),

alerts as (

    -- customer-theme alerts only: operators' pipeline-health alerts are not about feedback
    select * from {{ ref('stg_alerts__alert_lifecycle') }}
    where kind = 'theme_spike'

),

urgent_items as (

    select
        feedback_id,
        created_date,
        created_at,
        case urgency
            {%- for level, minutes in sla_minutes.items() %}
            when '{{ level }}' then {{ minutes | int }}
            {%- endfor %}
        end as sla_minutes

    from feedback
    where urgency in (
        {%- for level in sla_minutes -%}
            '{{ level }}'{% if not loop.last %}, {% endif %}
        {%- endfor -%}
    )

),

item_acknowledgements as (

    -- an item named by several alerts counts from the first acknowledgement of any of them
    select
        alerted_items.feedback_id,
        min(alerts.acknowledged_at) as first_acknowledged_at

    from alerted_items
    inner join alerts
        on alerted_items.alert_id = alerts.alert_id
    group by alerted_items.feedback_id

),

urgent_kpis as (

    select
        urgent_items.created_date,
        count(*) as urgent_items,
        count(
            case
                when item_acknowledgements.first_acknowledged_at
                    <= {{ dbt.dateadd('minute', 'urgent_items.sla_minutes', 'urgent_items.created_at') }}
                    then 1
            end
        ) as urgent_items_acknowledged_within_sla

    from urgent_items
    left join item_acknowledgements
        on urgent_items.feedback_id = item_acknowledgements.feedback_id
    group by urgent_items.created_date

),

alert_signals as (

    select
        alerted_items.alert_id,
        min(feedback.created_at) as signal_at

    from alerted_items
    inner join feedback
        on alerted_items.feedback_id = feedback.feedback_id
    group by alerted_items.alert_id

),

alert_times as (

    select
        alerts.opened_date,
        alerts.acknowledged_at is not null as is_acknowledged,
        alerts.resolved_at is not null as is_resolved,
        {{ dbt.datediff('alert_signals.signal_at', 'alerts.acknowledged_at', 'second') }} / 60.0  -- noqa: LT05
            as minutes_signal_to_action

    from alerts
    left join alert_signals
        on alerts.alert_id = alert_signals.alert_id

),

alert_kpis as (

    select
        opened_date,
        count(*) as alerts_opened,
        count(case when is_acknowledged then 1 end) as alerts_acknowledged,
        count(case when is_resolved then 1 end) as alerts_resolved,
        percentile_cont(0.5) within group (order by minutes_signal_to_action)
            as median_minutes_signal_to_action,
        percentile_cont(0.9) within group (order by minutes_signal_to_action)
            as p90_minutes_signal_to_action

    from alert_times
    group by opened_date

),

days as (

    select distinct created_date from feedback

),

final as (

    select
        days.created_date,
        coalesce(urgent_kpis.urgent_items, 0) as urgent_items,
        coalesce(urgent_kpis.urgent_items_acknowledged_within_sla, 0) as urgent_items_acknowledged_within_sla,
        round(
            urgent_kpis.urgent_items_acknowledged_within_sla * 1.0 / nullif(urgent_kpis.urgent_items, 0), 4
        ) as urgent_acknowledged_within_sla_share,
        coalesce(alert_kpis.alerts_opened, 0) as alerts_opened,
        coalesce(alert_kpis.alerts_acknowledged, 0) as alerts_acknowledged,
        coalesce(alert_kpis.alerts_resolved, 0) as alerts_resolved,
        round(alert_kpis.alerts_resolved * 1.0 / nullif(alert_kpis.alerts_opened, 0), 4)
            as alerts_resolved_share,
        round(alert_kpis.median_minutes_signal_to_action, 2) as median_minutes_signal_to_action,
        round(alert_kpis.p90_minutes_signal_to_action, 2) as p90_minutes_signal_to_action

    from days
    left join urgent_kpis
        on days.created_date = urgent_kpis.created_date
    left join alert_kpis
        on days.created_date = alert_kpis.opened_date

)

select * from final
