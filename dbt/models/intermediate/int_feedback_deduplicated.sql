-- depends_on: {{ ref('stg_bronze__feedback_raw') }}  (read by silver_unclassified_since on incremental builds)
{#-
    Incremental (macros/incremental/silver_incremental.sql): a build ranks only the valid rows of the bronze
    rows still unclassified, together with the row each of their items already keeps, and upserts the winner
    by feedback_id. The first occurrence of all of an item's rows is the first of (the one kept so far, the
    new ones), so a new record repeating an old one loses to it exactly as in a full refresh, and a new one
    that sorts earlier (a load stamped before another but committed after it) replaces it.
-#}
{{
    config(
        materialized=feedback_ops.silver_materialization(),
        unique_key='feedback_id',
        incremental_strategy=feedback_ops.upsert_incremental_strategy(),
        on_schema_change='append_new_columns',
    )
}}

{#- what a new row and the row kept so far are ranked on, side by side (the columns the table keeps) -#}
{%- set candidate_columns = [
    'feedback_id', 'source_record_id', 'channel', 'feedback_text', 'title', 'locale', 'product_area',
    'customer_id', 'customer_tier', 'severity', 'rating', 'url', 'created_at', 'text_hash', 'bronze_row_id',
    'source_file', 'line_number', 'batch_id', 'ingested_at',
] %}

with

validated as (

    select * from {{ ref('int_feedback_validated') }}
    {% if is_incremental() -%}
    where ingested_at >= {{ feedback_ops.silver_unclassified_since() }}
    {%- endif %}

),

valid_rows as (

    select * from validated
    where quarantine_reason is null

),

{% if is_incremental() %}

-- the row kept so far for each item that has a new valid row
kept_rows as (

    select * from {{ this }}
    where feedback_id in (select feedback_id from valid_rows)

),

{% endif %}

candidates as (

    select {{ candidate_columns | join(', ') }}
    from valid_rows

    {% if is_incremental() %}
    union all

    select {{ candidate_columns | join(', ') }}
    -- a kept row also in the window (classified already) is a candidate once
    from kept_rows
    where bronze_row_id not in (select bronze_row_id from valid_rows)
    {% endif %}

),

ranked as (

    select
        *,
        -- bronze_row_id only breaks exact ties, so the choice never depends on scan order
        row_number() over (
            partition by feedback_id
            order by ingested_at, source_file, line_number, bronze_row_id
        ) as occurrence_number

    from candidates

),

first_occurrences as (

    select * from ranked
    where occurrence_number = 1

),

final as (

    select
        feedback_id,
        source_record_id,
        channel,
        feedback_text,
        title,
        locale,
        product_area,
        customer_id,
        customer_tier,
        severity,
        rating,
        url,
        created_at,
        text_hash,
        bronze_row_id,
        source_file,
        line_number,
        batch_id,
        ingested_at

    from first_occurrences

)

select * from final
