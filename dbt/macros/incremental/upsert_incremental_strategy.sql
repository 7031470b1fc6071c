{#
    The incremental strategy of the models upserted by key: gold's fct_feedback and silver's deduplicated,
    duplicates and quarantined tables (`silver_incremental.sql`). Used inside `config()`,
    so it is resolved at parse time from the target's adapter type (dbt-databricks dispatches databricks__,
    then spark__, then default__):
    - DuckDB: dbt-duckdb has no MERGE in its incremental materialization, so the changed keys are deleted and
      re-inserted in one transaction (delete+insert).
    - Databricks: Delta tables merge on the unique key.
    - Plain Spark (the local `spark` target of the dialect check): without Delta there is no MERGE, and
      `append` would duplicate a rebuilt item. `insert_overwrite` on a table partitioned by `created_date`
      replaces whole days (dynamic partition overwrite), so a model using it rebuilds every item of each day
      that holds a changed item (fct_feedback's `rebuilt_feedback_ids`).
#}
{% macro upsert_incremental_strategy() -%}
    {{ return(adapter.dispatch('upsert_incremental_strategy', 'feedback_ops')()) }}
{%- endmacro %}

{% macro default__upsert_incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{% macro duckdb__upsert_incremental_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__upsert_incremental_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{% macro databricks__upsert_incremental_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}
