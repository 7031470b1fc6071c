{#
    The incremental strategy of the gold marts that are upserted by key (fct_feedback). DuckDB has no MERGE
    in dbt-duckdb's incremental materialization, so locally the changed keys are deleted and re-inserted in
    one transaction; Databricks (Delta) and Spark merge on the unique key. Used inside `config()`, so it is
    resolved at parse time from the target's adapter type.
#}
{% macro gold_incremental_strategy() -%}
    {{ return(adapter.dispatch('gold_incremental_strategy', 'feedback_ops')()) }}
{%- endmacro %}

{% macro default__gold_incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{% macro duckdb__gold_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}
