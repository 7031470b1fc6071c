{#
    One top-level field of a JSON object held as text, as a string (nested objects and arrays come back as
    JSON text; missing keys and JSON nulls as null). `column` must hold JSON or null: guard non-JSON rows
    before calling (DuckDB raises on malformed JSON).
#}
{% macro json_field(column, field) -%}
    {{ return(adapter.dispatch('json_field', 'feedback_ops')(column, field)) }}
{%- endmacro %}

{% macro default__json_field(column, field) -%}
    json_extract_path_text({{ column }}, '{{ field }}')
{%- endmacro %}

{% macro duckdb__json_field(column, field) -%}
    json_extract_string({{ column }}, '$.{{ field }}')
{%- endmacro %}

{% macro spark__json_field(column, field) -%}
    get_json_object({{ column }}, '$.{{ field }}')
{%- endmacro %}

{% macro databricks__json_field(column, field) -%}
    {{ spark__json_field(column, field) }}
{%- endmacro %}
