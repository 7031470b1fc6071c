{%- set enrichment_version = var('enrichment_version', none) -%}

with

bronze as (

    select * from {{ ref('stg_bronze__feedback_raw') }}

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

silver_counts as (

    select count(*) as silver_rows from silver

),

quarantined_counts as (

    select count(*) as quarantined_rows from quarantined

),

duplicate_counts as (

    select count(*) as duplicate_rows from duplicates

),

enriched_counts as (

    select
        sum(case when is_enriched then 1 else 0 end) as enriched_rows,
        sum(case when is_enriched then 0 else 1 end) as unenriched_rows

    from feedback

),

final as (

    select
        bronze_counts.bronze_rows,
        silver_counts.silver_rows,
        quarantined_counts.quarantined_rows,
        duplicate_counts.duplicate_rows,
        coalesce(enriched_counts.enriched_rows, 0) as enriched_rows,
        coalesce(enriched_counts.unenriched_rows, 0) as unenriched_rows,
        {% if enrichment_version -%}
        '{{ dbt.escape_single_quotes(enrichment_version | string) }}'
        {%- else -%}
        cast(null as {{ dbt.type_string() }})
        {%- endif %} as enrichment_version,
        bronze_counts.bronze_rows
            = silver_counts.silver_rows
            + quarantined_counts.quarantined_rows
            + duplicate_counts.duplicate_rows as is_balanced

    from bronze_counts
    cross join silver_counts
    cross join quarantined_counts
    cross join duplicate_counts
    cross join enriched_counts

)

select * from final
