{#-
    What each lane spent on enrichment model calls, per day the rows were written. Copies reused by text hash
    carry no tokens and no cost (the runner zeroes them), so they count as records but not as model calls.
-#}
with

enrichments as (

    select * from {{ ref('stg_enrichment__feedback_enrichments') }}

),

lane_days as (

    select
        cast(enriched_at as date) as enriched_date,
        coalesce(lane, 'micro_batch') as lane,
        enrichment_version,
        count(*) as records,
        count(*) filter (where tokens_in + tokens_out > 0) as model_calls,
        coalesce(sum(tokens_in), 0) as tokens_in,
        coalesce(sum(tokens_out), 0) as tokens_out,
        coalesce(sum(cost_usd), 0.0) as cost_usd

    from enrichments
    where enriched_at is not null
    group by 1, 2, 3

),

final as (

    select
        enriched_date,
        lane,
        enrichment_version,
        records,
        model_calls,
        tokens_in,
        tokens_out,
        cost_usd,
        case when records > 0 then cost_usd / records end as cost_usd_per_record

    from lane_days

)

select * from final
