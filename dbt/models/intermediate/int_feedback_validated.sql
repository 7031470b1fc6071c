{{ config(materialized='view') }}

{%- set accepted_channels = var('accepted_channels') %}
{#- a record dated further than this past its own load is not real yet: it would move "now" ahead of ingestion -#}
{%- set future_tolerance_hours = var('future_created_at_tolerance_hours', 24) | int %}

with

staged as (

    select * from {{ ref('stg_bronze__feedback_raw') }}

),

normalized as (

    select
        *,
        {{ normalize_text('raw_text') }} as feedback_text

    from staged

),

keyed as (

    select
        *,
        {{ dbt.hash("channel || ':' || source_record_id") }} as feedback_id,
        {{ dbt.hash('lower(feedback_text)') }} as text_hash

    from normalized

),

validated as (

    select
        *,
        -- the first failing rule wins, in the order of docs/data-model.md
        case
            when parse_error is not null then 'malformed_record: ' || parse_error
            when source_record_id is null then 'missing_source_record_id'
            when channel is null then 'missing_channel'
            when channel not in ('{{ accepted_channels | join("', '") }}')  -- noqa: LT05
                then 'unknown_channel: ' || channel
            when feedback_text is null or feedback_text = '' then 'empty_text'
            when created_at_raw is null then 'missing_created_at'
            when created_at is null then 'invalid_created_at: ' || created_at_raw
            when created_at > {{ dbt.dateadd('hour', future_tolerance_hours, 'ingested_at') }}
                then 'future_created_at: ' || created_at_raw
        end as quarantine_reason

    from keyed

),

final as (

    select
        bronze_row_id,
        feedback_id,
        source_record_id,
        channel,
        feedback_text,
        text_hash,
        title,
        locale,
        product_area,
        customer_id,
        customer_tier,
        severity,
        rating,
        url,
        metadata,
        created_at_raw,
        created_at,
        quarantine_reason,
        parse_error,
        payload,
        source_file,
        file_checksum,
        source_format,
        line_number,
        batch_id,
        ingested_at

    from validated

)

select * from final
