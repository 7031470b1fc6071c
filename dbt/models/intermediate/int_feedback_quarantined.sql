-- depends_on: {{ ref('stg_bronze__feedback_raw') }}  (read by silver_unclassified_since on incremental builds)
{#-
    Incremental (macros/incremental/silver_incremental.sql): a build adds the rejected rows among the bronze
    rows still unclassified. A row's rejection depends on that row alone, so rows held never change; the
    window's rows held already are upserted by bronze_row_id to the same values.
-#}
{{
    config(
        materialized=feedback_ops.silver_materialization(),
        unique_key='bronze_row_id',
        incremental_strategy=feedback_ops.upsert_incremental_strategy(),
    )
}}

with

validated as (

    select * from {{ ref('int_feedback_validated') }}
    {% if is_incremental() -%}
    where ingested_at >= {{ feedback_ops.silver_unclassified_since() }}
    {%- endif %}

),

quarantined as (

    select * from validated
    where quarantine_reason is not null

),

final as (

    select
        bronze_row_id,
        quarantine_reason,
        parse_error,
        payload,
        source_record_id,
        channel,
        created_at_raw,
        source_file,
        file_checksum,
        source_format,
        line_number,
        batch_id,
        ingested_at

    from quarantined

)

select * from final
