with

source as (

    select * from "warehouse"."bronze"."feedback_raw"

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
        json_extract_string(payload_json, '$.source_record_id') as source_record_id_raw,
        json_extract_string(payload_json, '$.channel') as channel_raw,
        json_extract_string(payload_json, '$.text') as raw_text,
        json_extract_string(payload_json, '$.created_at') as created_at_value,
        json_extract_string(payload_json, '$.rating') as rating_raw,
        json_extract_string(payload_json, '$.metadata') as metadata,
        json_extract_string(payload_json, '$.title') as title_raw,
        json_extract_string(payload_json, '$.locale') as locale_raw,
        json_extract_string(payload_json, '$.product_area') as product_area_raw,
        json_extract_string(payload_json, '$.customer_id') as customer_id_raw,
        json_extract_string(payload_json, '$.customer_tier') as customer_tier_raw,
        json_extract_string(payload_json, '$.severity') as severity_raw,
        json_extract_string(payload_json, '$.url') as url_raw,
        

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
        nullif(trim(title_raw), '') as title,
        nullif(trim(locale_raw), '') as locale,
        nullif(trim(product_area_raw), '') as product_area,
        nullif(trim(customer_id_raw), '') as customer_id,
        nullif(trim(customer_tier_raw), '') as customer_tier,
        nullif(trim(severity_raw), '') as severity,
        nullif(trim(url_raw), '') as url,
        try_cast(nullif(trim(rating_raw), '') as double) as rating,
        metadata,
        nullif(trim(created_at_value), '') as created_at_raw,
        (try_cast(nullif(trim(created_at_value), '') as timestamptz) at time zone 'UTC') as created_at,

    from extracted

),

final as (

    select * from typed

)

select * from final