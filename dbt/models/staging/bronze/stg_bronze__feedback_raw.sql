{%- set optional_fields = [
    'title',
    'locale',
    'product_area',
    'customer_id',
    'customer_tier',
    'severity',
    'url',
] -%}

with

-- the files set aside (feedback_ops.ingest.parked_files): their rows go no further
set_aside_files as (

    select file_checksum from {{ source('bronze', 'parked_files') }}
    where status in ('parked', 'dropped')

),

-- an anti-join, not `not in`: a null in either column can never drop every row
source as (

    select feedback_raw.*
    from {{ source('bronze', 'feedback_raw') }} as feedback_raw
    left join set_aside_files
        on feedback_raw.file_checksum = set_aside_files.file_checksum
    where set_aside_files.file_checksum is null

),

json_payloads as (

    select
        *,
        -- a malformed record's payload is its raw line, not JSON: extraction only ever sees JSON or null
        case when parse_error is null then payload end as payload_json

    from source

),

extracted as (

    select
        bronze_row_id,
        batch_id,
        source_file,
        file_checksum,
        source_format,
        line_number,
        ingested_at,
        parse_error,
        payload,
        {{ json_field('payload_json', 'source_record_id') }} as source_record_id_raw,
        {{ json_field('payload_json', 'channel') }} as channel_raw,
        {{ json_field('payload_json', 'text') }} as raw_text,
        {{ json_field('payload_json', 'created_at') }} as created_at_value,
        {{ json_field('payload_json', 'rating') }} as rating_raw,
        {% for field in optional_fields -%}
        {{ json_field('payload_json', field) }} as {{ field }}_raw,
        {% endfor -%}
        {{ json_field('payload_json', 'metadata') }} as metadata

    from json_payloads

),

typed as (

    select
        bronze_row_id,
        batch_id,
        source_file,
        file_checksum,
        source_format,
        line_number,
        ingested_at,
        parse_error,
        payload,
        -- CSV exports give empty strings for empty cells: blank means missing everywhere
        nullif(trim(source_record_id_raw), '') as source_record_id,
        nullif(lower(trim(channel_raw)), '') as channel,
        raw_text,
        {% for field in optional_fields -%}
        nullif(trim({{ field }}_raw), '') as {{ field }},
        {% endfor -%}
        {{ dbt.safe_cast("nullif(trim(rating_raw), '')", 'double') }} as rating,
        metadata,
        nullif(trim(created_at_value), '') as created_at_raw,
        {{ parse_iso_timestamp("nullif(trim(created_at_value), '')") }} as created_at

    from extracted

),

final as (

    select * from typed

)

select * from final
