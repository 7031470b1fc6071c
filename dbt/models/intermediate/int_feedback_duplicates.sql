-- depends_on: {{ ref('stg_bronze__feedback_raw') }}  (read by silver_unclassified_since on incremental builds)
{#-
    Incremental (macros/incremental/silver_incremental.sql): a build adds the valid rows of the bronze rows
    still unclassified that int_feedback_deduplicated did not keep (built first, so a row it just replaced is
    unclassified again and lands here), and re-points the rows it holds whose item now keeps another row.
    Upserted by bronze_row_id; a row never leaves this table (an earlier occurrence can replace a kept row,
    never a repeated one).
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

deduplicated as (

    select * from {{ ref('int_feedback_deduplicated') }}

),

valid_rows as (

    select
        bronze_row_id,
        feedback_id,
        source_record_id,
        channel,
        text_hash,
        source_file,
        line_number,
        batch_id,
        ingested_at

    from validated
    where quarantine_reason is null

    {% if is_incremental() %}
    union all

    -- rows held already whose item now keeps another row (a new, earlier occurrence)
    select
        held.bronze_row_id,
        held.feedback_id,
        held.source_record_id,
        held.channel,
        held.text_hash,
        held.source_file,
        held.line_number,
        held.batch_id,
        held.ingested_at

    from {{ this }} as held
    inner join deduplicated
        on held.feedback_id = deduplicated.feedback_id
    where held.duplicate_of_bronze_row_id <> deduplicated.bronze_row_id
        and held.bronze_row_id not in (select bronze_row_id from validated)
    {% endif %}

),

-- which occurrence is kept is decided once, in int_feedback_deduplicated; every other valid row repeats it
duplicates as (

    select
        valid_rows.bronze_row_id,
        valid_rows.feedback_id,
        deduplicated.bronze_row_id as duplicate_of_bronze_row_id,
        valid_rows.source_record_id,
        valid_rows.channel,
        valid_rows.text_hash,
        valid_rows.text_hash = deduplicated.text_hash as is_same_text,
        valid_rows.source_file,
        valid_rows.line_number,
        valid_rows.batch_id,
        valid_rows.ingested_at

    from valid_rows
    inner join deduplicated
        on valid_rows.feedback_id = deduplicated.feedback_id
    where valid_rows.bronze_row_id <> deduplicated.bronze_row_id

),

final as (

    select * from duplicates

)

select * from final
