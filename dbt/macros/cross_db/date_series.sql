{#
    A set-returning select expression: one row per calendar day from `start_date` to `end_date` inclusive
    (both date expressions). Use as `select {{ date_series('a', 'b') }} as day from ...` and cast the result
    to date: engines return dates or midnight timestamps.
#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series', 'feedback_ops')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__date_series(start_date, end_date) -%}
    generate_series({{ start_date }}, {{ end_date }}, interval '1 day')
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date) -%}
    unnest(generate_series({{ start_date }}, {{ end_date }}, interval 1 day))
{%- endmacro %}

{% macro spark__date_series(start_date, end_date) -%}
    explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day))
{%- endmacro %}

{% macro databricks__date_series(start_date, end_date) -%}
    {{ spark__date_series(start_date, end_date) }}
{%- endmacro %}
