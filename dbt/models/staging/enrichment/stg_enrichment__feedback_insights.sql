{#-
    Rich-pass insights of the current enrichment version (`var('enrichment_version')`) and rich version
    (`var('rich_version')`); with a var unset, every version (fct_feedback keeps the latest per item).
-#}
{%- set enrichment_version = var('enrichment_version', none) -%}
{%- set rich_version = var('rich_version', none) -%}

with

source as (

    select * from {{ source('enrichment', 'feedback_insights') }}

),

current_version as (

    select * from source
    where true
    {% if enrichment_version -%}
        and enrichment_version = '{{ dbt.escape_single_quotes(enrichment_version | string) }}'
    {%- endif %}
    {% if rich_version -%}
        and rich_version = '{{ dbt.escape_single_quotes(rich_version | string) }}'
    {%- endif %}

),

final as (

    select
        feedback_id,
        enrichment_version,
        rich_version,
        rich_reasons,
        summary,
        entities,
        root_cause,
        next_action,
        model_name as rich_model_name,
        tokens_in as rich_tokens_in,
        tokens_out as rich_tokens_out,
        cost_usd as rich_cost_usd,
        enriched_at as rich_enriched_at

    from current_version

)

select * from final
