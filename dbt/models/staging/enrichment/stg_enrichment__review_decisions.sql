with

source as (

    select * from {{ source('enrichment', 'review_decisions') }}

),

final as (

    select
        decision_id,
        feedback_id,
        enrichment_version,
        text_hash,
        reviewer,
        decided_at,
        action,
        category,
        sentiment_label,
        urgency,
        note,
        model_category,
        model_sentiment_label,
        model_urgency,
        model_confidence,
        model_name,
        model_version,
        prompt_version,
        taxonomy_version

    from source

)

select * from final
