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
        current_enrichments.category,
        current_enrichments.sentiment_label,
        current_enrichments.sentiment_score,
        current_enrichments.sentiment_label = 'negative' as is_negative,
        current_enrichments.urgency,
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

),

final as (

    select * from joined

)

select * from final
