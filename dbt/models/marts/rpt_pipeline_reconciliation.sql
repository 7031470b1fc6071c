{%- set enrichment_version = var('enrichment_version', none) -%}

with

-- every bronze row, those of parked and dropped files included (the staging view leaves those out)
bronze as (

    select * from {{ source('bronze', 'feedback_raw') }}

),

parked_files as (

    select * from {{ source('bronze', 'parked_files') }}

),

manifest as (

    select * from {{ source('bronze', 'file_manifest') }}

),

silver as (

    select * from {{ ref('int_feedback_deduplicated') }}

),

quarantined as (

    select * from {{ ref('int_feedback_quarantined') }}

),

duplicates as (

    select * from {{ ref('int_feedback_duplicates') }}

),

feedback as (

    select * from {{ ref('fct_feedback') }}

),

bronze_counts as (

    select count(*) as bronze_rows from bronze

),

bronze_rows_by_file as (

    select
        file_checksum,
        count(*) as bronze_rows
    from bronze
    group by file_checksum

),

-- the records each landing file holds, as the loader counted them (a file loaded before they were counted,
-- or by the Databricks load, counts the rows it was given); a file whose bronze rows differ lost or gained rows
files as (

    select
        coalesce(manifest.source_records, manifest.record_count) as source_records,
        coalesce(bronze_rows_by_file.bronze_rows, 0) as bronze_rows

    from manifest
    left join bronze_rows_by_file
        on manifest.file_checksum = bronze_rows_by_file.file_checksum

),

source_counts as (

    select
        coalesce(sum(source_records), 0) as source_records,
        coalesce(sum(case when source_records <> bronze_rows then 1 else 0 end), 0) as unbalanced_files

    from files

),

silver_counts as (

    select count(*) as silver_rows from silver

),

quarantined_counts as (

    select count(*) as quarantined_rows from quarantined

),

duplicate_counts as (

    select count(*) as duplicate_rows from duplicates

),

parked_counts as (

    select
        coalesce(sum(case when parked_files.status = 'parked' then 1 else 0 end), 0) as parked_rows,
        coalesce(sum(case when parked_files.status = 'dropped' then 1 else 0 end), 0) as dropped_rows

    from bronze
    inner join parked_files
        on bronze.file_checksum = parked_files.file_checksum

),

enriched_counts as (

    select
        sum(case when is_enriched then 1 else 0 end) as enriched_rows,
        sum(case when is_enriched then 0 else 1 end) as unenriched_rows

    from feedback

),

final as (

    select
        source_counts.source_records,
        bronze_counts.bronze_rows,
        silver_counts.silver_rows,
        quarantined_counts.quarantined_rows,
        duplicate_counts.duplicate_rows,
        source_counts.unbalanced_files,
        parked_counts.parked_rows,
        parked_counts.dropped_rows,
        coalesce(enriched_counts.enriched_rows, 0) as enriched_rows,
        coalesce(enriched_counts.unenriched_rows, 0) as unenriched_rows,
        {% if enrichment_version -%}
        '{{ dbt.escape_single_quotes(enrichment_version | string) }}'
        {%- else -%}
        cast(null as {{ dbt.type_string() }})
        {%- endif %} as enrichment_version,
        source_counts.source_records = bronze_counts.bronze_rows
        and source_counts.unbalanced_files = 0
        and bronze_counts.bronze_rows
            = silver_counts.silver_rows
            + quarantined_counts.quarantined_rows
            + duplicate_counts.duplicate_rows
            + parked_counts.parked_rows
            + parked_counts.dropped_rows as is_balanced

    from source_counts
    cross join bronze_counts
    cross join silver_counts
    cross join quarantined_counts
    cross join duplicate_counts
    cross join parked_counts
    cross join enriched_counts

)

select * from final
