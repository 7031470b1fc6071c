with

feedback as (

    select * from {{ ref('int_feedback_deduplicated') }}

),

enrichments as (

    select * from {{ ref('stg_enrichment__feedback_enrichments') }}

),

ranked_enrichments as (

    select
        *,
        -- one enrichment per item: with `enrichment_version` set there is only one; without it, the latest
        row_number() over (
            partition by feedback_id
            order by enriched_at desc, enrichment_version desc
        ) as recency_rank

    from enrichments

),

current_enrichments as (

    select * from ranked_enrichments
    where recency_rank = 1

),

insights as (

    select * from {{ ref('stg_enrichment__feedback_insights') }}

),

ranked_insights as (

    select
        *,
        row_number() over (
            partition by feedback_id, enrichment_version
            order by rich_enriched_at desc, rich_version desc
        ) as recency_rank

    from insights

),

current_insights as (

    select * from ranked_insights
    where recency_rank = 1

),

decisions as (

    select * from {{ ref('stg_enrichment__review_decisions') }}

),

ranked_decisions as (

    select
        *,
        -- a reviewer's label is about the text: the latest decision stands whatever version it reviewed
        row_number() over (
            partition by feedback_id
            order by decided_at desc, decision_id desc
        ) as recency_rank

    from decisions

),

latest_decisions as (

    select * from ranked_decisions
    where recency_rank = 1

),

joined as (

    select
        feedback.feedback_id,
        feedback.source_record_id,
        feedback.channel,
        feedback.feedback_text,
        feedback.title,
        feedback.locale,
        feedback.product_area,
        feedback.customer_id,
        feedback.customer_tier,
        feedback.severity,
        feedback.rating,
        feedback.url,
        feedback.created_at,
        cast(feedback.created_at as date) as created_date,
        {{ dbt.date_trunc('hour', 'feedback.created_at') }} as created_hour,
        feedback.text_hash,
        feedback.bronze_row_id,
        feedback.source_file,
        feedback.batch_id,
        feedback.ingested_at,
        current_enrichments.feedback_id is not null as is_enriched,
        -- current best labels: the reviewer's when the item was reviewed, else the model's
        coalesce(latest_decisions.category, current_enrichments.category) as category,
        coalesce(latest_decisions.sentiment_label, current_enrichments.sentiment_label) as sentiment_label,
        current_enrichments.sentiment_score,
        coalesce(latest_decisions.sentiment_label, current_enrichments.sentiment_label) = 'negative'
            as is_negative,
        coalesce(latest_decisions.urgency, current_enrichments.urgency) as urgency,
        current_enrichments.category as model_category,
        current_enrichments.sentiment_label as model_sentiment_label,
        current_enrichments.urgency as model_urgency,
        latest_decisions.decision_id is not null as is_reviewed,
        latest_decisions.category as reviewed_category,
        latest_decisions.sentiment_label as reviewed_sentiment_label,
        latest_decisions.urgency as reviewed_urgency,
        latest_decisions.reviewer as reviewed_by,
        latest_decisions.decided_at as reviewed_at,
        latest_decisions.enrichment_version as reviewed_enrichment_version,
        current_enrichments.confidence,
        current_enrichments.needs_review,
        current_enrichments.language,
        current_enrichments.redacted_text,
        current_enrichments.lane,
        current_enrichments.model_name,
        current_enrichments.model_version,
        current_enrichments.prompt_version,
        current_enrichments.taxonomy_version,
        current_enrichments.enrichment_version,
        current_enrichments.enriched_at,
        current_enrichments.enrichment_notes,
        -- model cost of the current enrichment (0 for local models): gold.rpt_kpis_daily's cost per 1,000 items
        current_enrichments.cost_usd,
        current_insights.feedback_id is not null as has_insight,
        current_insights.rich_reasons,
        current_insights.summary,
        current_insights.entities,
        current_insights.root_cause,
        current_insights.next_action

    from feedback
    left join current_enrichments
        on feedback.feedback_id = current_enrichments.feedback_id
    left join current_insights
        on current_enrichments.feedback_id = current_insights.feedback_id
        and current_enrichments.enrichment_version = current_insights.enrichment_version
    left join latest_decisions
        on current_enrichments.feedback_id = latest_decisions.feedback_id

),

final as (

    select * from joined

)

select * from final
