{#
    Shims for dbt's cross-database `dbt.safe_cast` (dispatch search order in dbt_project.yml puts this project
    first). dbt's built-ins fall back to a plain `cast` on DuckDB and Spark, which fails the whole query on
    one bad value; these engines have `try_cast`, which returns null instead.
#}
{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro spark__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro databricks__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}
