{#
    An ISO-8601 string as a timestamp in UTC, or null when it does not parse. An explicit offset (`Z`,
    `+02:00`) is honoured; a string without one is read in the session time zone, which the profiles set
    to UTC.
#}
{% macro parse_iso_timestamp(column) -%}
    {{ return(adapter.dispatch('parse_iso_timestamp', 'feedback_ops')(column)) }}
{%- endmacro %}

{% macro default__parse_iso_timestamp(column) -%}
    {{ dbt.safe_cast(column, api.Column.translate_type('timestamp')) }}
{%- endmacro %}

{# DuckDB's cast to a naive timestamp ignores the offset: go through timestamptz, then back to UTC wall time. #}
{% macro duckdb__parse_iso_timestamp(column) -%}
    (try_cast({{ column }} as timestamptz) at time zone 'UTC')
{%- endmacro %}
