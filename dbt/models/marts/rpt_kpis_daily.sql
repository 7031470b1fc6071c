{% set sla_minutes = var('alert_ack_sla_minutes', 60) %}

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

first_alerted as (

    -- an item named by several alerts counts from the first message naming it
    select
        feedback_id,
        min(alerted_at) as first_alerted_at

    from alerted_items
    group by feedback_id

),

items as (

    select
        feedback.created_date,
        feedback.is_enriched,
        feedback.is_negative,
        feedback.channel in ('review', 'app_store') as is_review,
        feedback.urgency in ('high', 'critical') as is_urgent,
        feedback.cost_usd,
        {{ dbt.datediff('feedback.created_at', 'feedback.enriched_at', 'second') }} / 60.0  -- noqa: LT05
            as minutes_to_insight,
        first_alerted.first_alerted_at is not null
            and first_alerted.first_alerted_at
                <= {{ dbt.dateadd('hour', 1, 'feedback.created_at') }} as is_alerted_within_hour

    from feedback
    left join first_alerted
        on feedback.feedback_id = first_alerted.feedback_id

),

item_kpis as (

    select
        created_date,
        count(*) as items,
        count(case when is_enriched then 1 end) as enriched_items,
        count(case when is_enriched and is_review then 1 end) as enriched_review_items,
        count(case when is_enriched and is_review and is_negative then 1 end) as negative_review_items,
        percentile_cont(0.5) within group (order by minutes_to_insight) as median_minutes_to_first_insight,
        count(case when is_urgent then 1 end) as urgent_items,
        count(case when is_urgent and is_alerted_within_hour then 1 end) as urgent_items_alerted_within_1h,
        coalesce(sum(cost_usd), 0) as cost_usd

    from items
    group by created_date

),

alert_times as (

    select
        opened_date,
        acknowledged_at is not null as is_acknowledged,
        resolved_at is not null as is_resolved,
        {{ dbt.datediff('opened_at', 'acknowledged_at', 'second') }} / 60.0 as minutes_to_acknowledge,  -- noqa: LT05
        {{ dbt.datediff('opened_at', 'resolved_at', 'second') }} / 60.0 as minutes_to_resolve  -- noqa: LT05

    from alerts

),

alert_kpis as (

    select
        opened_date,
        count(*) as alerts_opened,
        count(case when is_acknowledged then 1 end) as alerts_acknowledged,
        count(case when minutes_to_acknowledge <= {{ sla_minutes }} then 1 end)
            as alerts_acknowledged_within_sla,
        count(case when is_resolved then 1 end) as alerts_resolved,
        percentile_cont(0.5) within group (order by minutes_to_acknowledge) as median_minutes_to_acknowledge,
        percentile_cont(0.5) within group (order by minutes_to_resolve) as median_minutes_to_resolve

    from alert_times
    group by opened_date

),

final as (

    select
        item_kpis.created_date,
        item_kpis.items,
        item_kpis.enriched_items,
        round(item_kpis.enriched_items * 1.0 / item_kpis.items, 4) as enrichment_coverage,
        item_kpis.enriched_review_items,
        item_kpis.negative_review_items,
        round(item_kpis.negative_review_items * 1.0 / nullif(item_kpis.enriched_review_items, 0), 4)
            as negative_review_rate,
        round(item_kpis.median_minutes_to_first_insight, 2) as median_minutes_to_first_insight,
        item_kpis.urgent_items,
        item_kpis.urgent_items_alerted_within_1h,
        round(item_kpis.urgent_items_alerted_within_1h * 1.0 / nullif(item_kpis.urgent_items, 0), 4)
            as urgent_alerted_within_1h_share,
        item_kpis.cost_usd,
        round(item_kpis.cost_usd * 1000.0 / item_kpis.items, 6) as cost_per_1000_items,
        coalesce(alert_kpis.alerts_opened, 0) as alerts_opened,
        coalesce(alert_kpis.alerts_acknowledged, 0) as alerts_acknowledged,
        coalesce(alert_kpis.alerts_resolved, 0) as alerts_resolved,
        round(alert_kpis.median_minutes_to_acknowledge, 2) as median_minutes_to_acknowledge,
        round(alert_kpis.median_minutes_to_resolve, 2) as median_minutes_to_resolve,
        round(alert_kpis.alerts_acknowledged_within_sla * 1.0 / nullif(alert_kpis.alerts_opened, 0), 4)
            as alerts_acknowledged_within_sla_share,
        round(alert_kpis.alerts_resolved * 1.0 / nullif(alert_kpis.alerts_opened, 0), 4)
            as alerts_resolved_share

    from item_kpis
    left join alert_kpis
        on item_kpis.created_date = alert_kpis.opened_date

)

select * from final
