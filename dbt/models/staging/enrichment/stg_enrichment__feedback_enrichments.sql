{#-
    The enrichment rows gold reads: those of `var('enrichment_version')` when it is set (the run passes the
    version it just enriched with), every version when it is not (fct_feedback then keeps the most recently
    enriched row per item).
-#}
{%- set enrichment_version = var('enrichment_version', none) -%}

with

source as (

    select * from {{ source('enrichment', 'feedback_enrichment') }}

),

current_version as (

    select * from source
    {% if enrichment_version -%}
    where enrichment_version = '{{ dbt.escape_single_quotes(enrichment_version | string) }}'
    {%- endif %}

),

final as (

    select
        feedback_id,
        enrichment_version,
        text_hash,
        redacted_text,
        redaction_counts,
        language,
        language_confidence,
        category,
        sentiment_label,
        sentiment_score,
        urgency,
        confidence,
        needs_review,
        lane,
        model_name,
        model_version,
        prompt_version,
        taxonomy_version,
        tokens_in,
        tokens_out,
        cost_usd,
        latency_ms,
        enriched_at,
        enrichment_notes

    from current_version

)

select * from final
