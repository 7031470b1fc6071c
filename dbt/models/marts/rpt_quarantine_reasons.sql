with

quarantined as (

    select * from {{ ref('int_feedback_quarantined') }}

),

classified as (

    select
        trim({{ dbt.split_part('quarantine_reason', "':'", 1) }}) as reason_family,
        source_file,
        bronze_row_id

    from quarantined

),

aggregated as (

    select
        reason_family,
        source_file,
        count(*) as row_count,
        min(bronze_row_id) as example_bronze_row_id

    from classified
    group by
        reason_family,
        source_file

),

final as (

    select * from aggregated

)

select * from final
