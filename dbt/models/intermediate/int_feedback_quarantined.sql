with

validated as (

    select * from {{ ref('int_feedback_validated') }}

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
