with

validated as (

    select * from {{ ref('int_feedback_validated') }}

),

valid_rows as (

    select * from validated
    where quarantine_reason is null

),

ranked as (

    select
        *,
        -- bronze_row_id only breaks exact ties, so the choice never depends on scan order
        row_number() over (
            partition by feedback_id
            order by ingested_at, source_file, line_number, bronze_row_id
        ) as occurrence_number

    from valid_rows

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
        batch_id,
        ingested_at

    from first_occurrences

)

select * from final
