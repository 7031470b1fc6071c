{#
    Day of the week of a date expression as an integer. Engines number days differently (DuckDB 0 = Sunday,
    Spark 1 = Sunday); the value is only ever compared with itself, so each engine's own numbering is fine.
#}
{% macro day_of_week(column) -%}
    {{ return(adapter.dispatch('day_of_week', 'feedback_ops')(column)) }}
{%- endmacro %}

{% macro default__day_of_week(column) -%}
    extract(dow from {{ column }})
{%- endmacro %}

{% macro duckdb__day_of_week(column) -%}
    dayofweek({{ column }})
{%- endmacro %}

{% macro spark__day_of_week(column) -%}
    dayofweek({{ column }})
{%- endmacro %}

{% macro databricks__day_of_week(column) -%}
    {{ spark__day_of_week(column) }}
{%- endmacro %}
