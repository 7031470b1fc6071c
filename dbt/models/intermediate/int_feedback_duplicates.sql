with

validated as (

    select * from {{ ref('int_feedback_validated') }}

),

deduplicated as (

    select * from {{ ref('int_feedback_deduplicated') }}

),

valid_rows as (

    select * from validated
    where quarantine_reason is null

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
