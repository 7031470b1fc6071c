{#-
    Items a person should review: the model flagged them (needs_review), their confidence is below
    `var('review_confidence_below')`, or the routing sample sent them to the rich pass ('sampled' in
    rich_reasons, a deterministic 2% of the rest). Items with a decision at their current enrichment
    version are done; a decision on an older version does not take the item out when a new version flags it.
    "Conflict" (cheap vs rich tier disagree) is not a reason here: the local rich pass assigns no category of
    its own to disagree with, so it waits for the cloud rich tier.
-#}
{%- set confidence_below = var('review_confidence_below', 0.5) -%}

with

feedback as (

    select * from {{ ref('fct_feedback') }}

),

decisions as (

    select * from {{ ref('stg_enrichment__review_decisions') }}

),

reviewed_versions as (

    select distinct
        feedback_id,
        enrichment_version

    from decisions

),

candidates as (

    select
        *,
        case
            when needs_review then 'needs_review'
            when confidence < {{ confidence_below }} then 'low_confidence'
            when rich_reasons like '%"sampled"%' then 'sampled'
        end as review_reason

    from feedback
    where is_enriched

),

awaiting as (

    select candidates.*
    from candidates
    left join reviewed_versions
        on candidates.feedback_id = reviewed_versions.feedback_id
        and candidates.enrichment_version = reviewed_versions.enrichment_version
    where
        candidates.review_reason is not null
        and reviewed_versions.feedback_id is null

),

final as (

    select
        feedback_id,
        review_reason,
        case review_reason
            when 'needs_review' then 1
            when 'low_confidence' then 2
            else 3
        end as review_priority,
        enrichment_version,
        channel,
        product_area,
        created_at,
        redacted_text,
        category,
        sentiment_label,
        urgency,
        model_category,
        model_sentiment_label,
        model_urgency,
        confidence,
        needs_review,
        is_reviewed,
        enrichment_notes,
        model_name,
        model_version,
        prompt_version,
        taxonomy_version,
        enriched_at

    from awaiting

)

select * from final
