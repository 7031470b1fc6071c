"""The bronze load on Databricks: ``COPY INTO`` from the ADLS Gen2 landing container, then SQL that gives every
record the row the local loader (``feedback_ops.ingest.bronze``) would give it.

Two ``COPY INTO`` statements copy what landed, and ``COPY INTO`` skips a file it has loaded before, so
re-running them copies nothing:

1. every export file whole (``FILEFORMAT = TEXT`` with ``wholeText``) into ``bronze.landing_files``, with its
   path, size and sha256 (the same checksum the local loader computes from the file's bytes);
2. CSV exports once more as CSV records (header, quoted multi-line fields) into ``bronze.landing_csv_records``:
   CSV quoting cannot be split correctly in SQL, the CSV reader does it.

Then one ``MERGE`` explodes the files no manifest row names yet into ``bronze.feedback_raw`` (JSON Lines: one
row per non-blank line; JSON documents: one per array element; CSV: one per record; malformed records kept
with ``parse_error``) with the same deterministic ``bronze_row_id`` (uuid5 of checksum and line number) and
``batch_id`` as locally, and a second ``MERGE`` writes ``bronze.file_manifest``. Both are keyed, so a task
retried after a partial failure inserts nothing twice; a renamed copy of a loaded file is skipped by its
checksum, as locally.

The statements are plain strings built from settings (catalog, landing URL): the DAG hands them to the
Databricks provider's ``DatabricksSqlOperator`` (``feedback_ops.ingest.databricks_tasks``).
"""

from __future__ import annotations

import re

from feedback_ops.config import Settings
from feedback_ops.ingest.bronze import BRONZE_NAMESPACE
from feedback_ops.ingest.landing import SUPPORTED_FORMATS

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_URL = re.compile(r"^abfss://[A-Za-z0-9-]+@[A-Za-z0-9-]+\.dfs\.core\.windows\.net/[A-Za-z0-9_./-]*$")


def _catalog(settings: Settings) -> str:
    catalog = settings.databricks.catalog
    if not _NAME.match(catalog):
        raise ValueError(f"DATABRICKS_CATALOG must be a plain identifier, got {catalog!r}")
    return catalog


def _landing_url(settings: Settings) -> str:
    url = settings.databricks.landing_url
    if not _URL.match(url):
        raise ValueError(
            f"landing URL {url!r} is not abfss://<container>@<account>.dfs.core.windows.net/<prefix>/ "
            "(FEEDBACK_OPS_ADLS_ACCOUNT, FEEDBACK_OPS_ADLS_CONTAINER, FEEDBACK_OPS_ADLS_PREFIX)"
        )
    return url


def uuid5_sql(name_sql: str) -> str:
    """Databricks SQL computing ``uuid.uuid5(BRONZE_NAMESPACE, <name>)``: sha1 of the namespace bytes and the
    UTF-8 name, the first 16 bytes, with the version (5) and RFC 4122 variant bits set."""
    digest = f"sha1(concat(unhex('{BRONZE_NAMESPACE.hex}'), encode({name_sql}, 'UTF-8')))"
    variant = f"lower(hex(bitwise_or(bitwise_and(cast(conv(substr({digest}, 17, 1), 16, 10) as int), 3), 8)))"
    return (
        f"concat_ws('-', substr({digest}, 1, 8), substr({digest}, 9, 4), concat('5', substr({digest}, 14, 3)), "
        f"concat({variant}, substr({digest}, 18, 3)), substr({digest}, 21, 12))"
    )


def landing_table_ddl(settings: Settings) -> list[str]:
    """The schemas and tables the load writes, created if missing (bronze tables from ``schema.DDL``)."""
    import sqlglot
    from sqlglot import exp

    from feedback_ops.warehouse.databricks_warehouse import to_databricks_ddl
    from feedback_ops.warehouse.schema import DDL

    catalog = _catalog(settings)
    statements = [
        f"create schema if not exists {catalog}.bronze",
        f"create table if not exists {catalog}.bronze.landing_files (source_path string, content string, "
        "size_bytes bigint, modified_at timestamp, file_checksum string, copied_at timestamp)",
        f"create table if not exists {catalog}.bronze.landing_csv_records (source_path string, "
        "record_position bigint, payload string, rescued_data string, copied_at timestamp)",
    ]
    for statement in DDL:
        if "bronze." not in statement or "create table" not in statement.lower():
            continue
        tree = sqlglot.parse_one(to_databricks_ddl(statement) or "", read="databricks")
        tree.this.this.set("catalog", exp.to_identifier(catalog))  # Schema(Table(...)) -> three-part name
        statements.append(tree.sql(dialect="databricks"))
    return statements


def copy_into_statements(settings: Settings) -> list[str]:
    """The two ``COPY INTO`` statements (whole files, then CSV records) from the landing container."""
    catalog, url = _catalog(settings), _landing_url(settings)
    extensions = ",".join(sorted(ext.lstrip(".") for ext in SUPPORTED_FORMATS))
    whole_files = (
        f"copy into {catalog}.bronze.landing_files from ("
        "select _metadata.file_path as source_path, value as content, _metadata.file_size as size_bytes, "
        "_metadata.file_modification_time as modified_at, sha2(value, 256) as file_checksum, "
        f"current_timestamp() as copied_at from '{url}') "
        f"fileformat = text pattern = '*.{{{extensions}}}' "
        "format_options ('wholeText' = 'true') copy_options ('force' = 'false')"
    )
    csv_records = (
        f"copy into {catalog}.bronze.landing_csv_records from ("
        "select _metadata.file_path as source_path, monotonically_increasing_id() as record_position, "
        "to_json(struct(* except (_rescued_data))) as payload, _rescued_data as rescued_data, "
        f"current_timestamp() as copied_at from '{url}') "
        "fileformat = csv pattern = '*.csv' "
        "format_options ('header' = 'true', 'multiLine' = 'true', 'inferSchema' = 'false', "
        "'mergeSchema' = 'true', 'mode' = 'PERMISSIVE', 'rescuedDataColumn' = '_rescued_data') "
        "copy_options ('force' = 'false', 'mergeSchema' = 'true')"
    )
    return [whole_files, csv_records]


def _new_files_cte(catalog: str, url: str) -> str:
    """Files copied but not in the manifest yet, one per checksum, with their format and the batch id."""
    return f"""
    new_files as (
        select
            source_path,
            regexp_replace(content, '^\\\\x{{FEFF}}', '') as content,
            size_bytes,
            file_checksum,
            replace(source_path, '{url}', '') as source_file,
            case lower(regexp_extract(source_path, '\\\\.([A-Za-z]+)$', 1))
                when 'csv' then 'csv' when 'json' then 'json' else 'jsonl' end as source_format,
            row_number() over (partition by file_checksum order by source_path) as copy_rank
        from {catalog}.bronze.landing_files
        where file_checksum not in (select file_checksum from {catalog}.bronze.file_manifest)
    ),
    files as (
        select
            *,
            concat('batch_', substr(sha2(array_join(array_sort(collect_set(file_checksum) over ()), ''), 256), 1, 16))
                as batch_id,
            convert_timezone('UTC', current_timestamp()) as ingested_at
        from new_files
        where copy_rank = 1
    )"""


def _records_ctes(catalog: str) -> str:
    """One row per record of every new file, with its 1-based line number and parse error (if any)."""
    json_error = (
        "case when try_parse_json({v}) is null then 'invalid_json' "
        "when schema_of_variant(try_parse_json({v})) not like 'OBJECT%' then 'not_a_json_object' end"
    )
    return f"""
    jsonl_lines as (
        select f.*, line.pos, trim(line.text) as text
        from files as f
        lateral view posexplode(split(f.content, '\\r?\\n')) line as pos, text
        where f.source_format = 'jsonl' and trim(line.text) <> ''
    ),
    json_documents as (
        select
            f.*,
            case
                when schema_of_variant(try_parse_json(f.content)) like 'ARRAY%'
                    then from_json(f.content, 'array<string>')
                when schema_of_variant(try_parse_json(get_json_object(f.content, '$.records'))) like 'ARRAY%'
                    then from_json(get_json_object(f.content, '$.records'), 'array<string>')
                when try_parse_json(f.content) is not null then array(f.content)
            end as elements
        from files as f
        where f.source_format = 'json'
    ),
    records as (
        select file_checksum, source_file, source_format, batch_id, ingested_at,
            row_number() over (partition by file_checksum order by pos) as line_number,
            text as payload, {json_error.format(v="text")} as parse_error
        from jsonl_lines
        union all
        select d.file_checksum, d.source_file, d.source_format, d.batch_id, d.ingested_at,
            element.pos + 1 as line_number, element.value as payload,
            {json_error.format(v="element.value")} as parse_error
        from json_documents as d
        lateral view posexplode(d.elements) element as pos, value
        union all
        select file_checksum, source_file, source_format, batch_id, ingested_at,
            1 as line_number, content as payload, 'invalid_json' as parse_error
        from json_documents
        where elements is null
        union all
        select f.file_checksum, f.source_file, f.source_format, f.batch_id, f.ingested_at,
            row_number() over (partition by f.file_checksum order by c.record_position) as line_number,
            c.payload,
            case when c.rescued_data is not null then 'csv_field_count_mismatch' end as parse_error
        from files as f
        join {catalog}.bronze.landing_csv_records as c on c.source_path = f.source_path
        where f.source_format = 'csv'
    )"""


def bronze_merge_statements(settings: Settings) -> list[str]:
    """``MERGE`` the records of new files into ``bronze.feedback_raw``, then their manifest rows."""
    catalog, url = _catalog(settings), _landing_url(settings)
    rows = f"""
    merge into {catalog}.bronze.feedback_raw as target
    using (
        with {_new_files_cte(catalog, url).strip()},
        {_records_ctes(catalog).strip()}
        select
            {uuid5_sql("concat(file_checksum, ':', cast(line_number as string))")} as bronze_row_id,
            batch_id, source_file, file_checksum, source_format, cast(line_number as int) as line_number,
            payload, parse_error, ingested_at
        from records
    ) as source
    on target.bronze_row_id = source.bronze_row_id
    when not matched then insert (bronze_row_id, batch_id, source_file, file_checksum, source_format,
        line_number, payload, parse_error, ingested_at)
    values (source.bronze_row_id, source.batch_id, source.source_file, source.file_checksum,
        source.source_format, source.line_number, source.payload, source.parse_error, source.ingested_at)"""
    manifest = f"""
    merge into {catalog}.bronze.file_manifest as target
    using (
        with {_new_files_cte(catalog, url).strip()}
        select
            f.file_checksum, f.source_file, f.source_format, f.size_bytes,
            cast((select count(*) from {catalog}.bronze.feedback_raw as r
                where r.file_checksum = f.file_checksum) as int) as record_count,
            f.batch_id, f.ingested_at
        from files as f
    ) as source
    on target.file_checksum = source.file_checksum
    when not matched then insert (file_checksum, source_file, source_format, size_bytes, record_count,
        batch_id, ingested_at)
    values (source.file_checksum, source.source_file, source.source_format, source.size_bytes,
        source.record_count, source.batch_id, source.ingested_at)"""
    return [rows.strip(), manifest.strip()]


def bronze_load_statements(settings: Settings) -> list[str]:
    """Every statement of one Databricks bronze load, in order; each is idempotent."""
    return [*landing_table_ddl(settings), *copy_into_statements(settings), *bronze_merge_statements(settings)]
