{%- set enrichment_version = var('enrichment_version', none) -%}
{%- set rich_version = var('rich_version', none) -%}

with

source as (

    select * from {{ source('enrichment', 'feedback_entities') }}

),

final as (

    select
        feedback_id,
        enrichment_version,
        rich_version,
        entity_type,
        entity_value

    from source
    where true
    {% if enrichment_version -%}
        and enrichment_version = '{{ dbt.escape_single_quotes(enrichment_version | string) }}'
    {%- endif %}
    {% if rich_version -%}
        and rich_version = '{{ dbt.escape_single_quotes(rich_version | string) }}'
    {%- endif %}

)

select * from final
