{#-
    Incremental: a run rebuilds only the items whose inputs changed since the last build, and the result is
    the table a full refresh would give (tests/test_gold_incremental.py proves it).

    An item's row depends on its silver row (ingested_at), its enrichment rows (enriched_at), its rich-pass
    insights (rich_enriched_at) and its review decisions (decided_at). Every one of those is a wall-clock write
    time, so `source_updated_at` (the latest of them for the item's current inputs) and its maximum over the
    table is a watermark: anything written after the last build has a later time. An item is rebuilt when
    - any of its inputs was written after the watermark minus `var('fct_feedback_lookback_minutes')` (the
      margin covers a batch that stamped its rows before a concurrent build read the table but committed
      after it; re-building an unchanged item gives the same row, so the overlap is harmless);
    - the enrichment / rich version the run reads (`var('enrichment_version')` / `var('rich_version')`)
      differs from the version its row holds, either way (a switch of version is not a new write);
    - its row predates the `source_updated_at` column (null: an upgraded table heals itself in one run).
    Silver rows are never removed (bronze is append-only and the first occurrence of an item wins); a change
    of the silver rules that drops items needs `dbt build --full-refresh`.

    The rebuilt rows are upserted by feedback_id (merge on Databricks, delete+insert on DuckDB). Plain Spark
    (the local `spark` target) has no MERGE without Delta: the table is partitioned by created_date and each
    run replaces whole partitions (insert_overwrite), so every item of a day holding a changed item is rebuilt
    (`rebuilt_feedback_ids`).
-#}
{%- set enrichment_version = var('enrichment_version', none) -%}
{%- set rich_version = var('rich_version', none) -%}
{%- set lookback_minutes = var('fct_feedback_lookback_minutes', 60) | int -%}
{#- insert_overwrite (plain Spark, no Delta) replaces whole created_date partitions, not single items -#}
{%- set replaces_whole_days = feedback_ops.upsert_incremental_strategy() == 'insert_overwrite' -%}

{{
    config(
        materialized='incremental',
        unique_key='feedback_id',
        incremental_strategy=feedback_ops.upsert_incremental_strategy(),
        on_schema_change='append_new_columns',
        partition_by=(['created_date'] if replaces_whole_days else none),
        liquid_clustered_by=(['created_date'] if target.type == 'databricks' else none),
    )
}}

with

all_feedback as (

    select * from {{ ref('int_feedback_deduplicated') }}

),

all_enrichments as (

    select * from {{ ref('stg_enrichment__feedback_enrichments') }}

),

all_insights as (

    select * from {{ ref('stg_enrichment__feedback_insights') }}

),

all_decisions as (

    select * from {{ ref('stg_enrichment__review_decisions') }}

),

{% if is_incremental() %}

existing as (

    select feedback_id, enrichment_version, rich_version, source_updated_at from {{ this }}

),

watermark as (

    select
        {{ dbt.dateadd(
            'minute',
            -lookback_minutes,
            "coalesce(max(source_updated_at), cast('1900-01-01 00:00:00' as timestamp))"
        ) }} as changed_after

    from existing

),

changed_feedback_ids as (

    select feedback_id from all_feedback
    where ingested_at > (select changed_after from watermark)

    union

    select feedback_id from all_enrichments
    where enriched_at > (select changed_after from watermark)

    union

    select feedback_id from all_insights
    where rich_enriched_at > (select changed_after from watermark)

    union

    select feedback_id from all_decisions
    where decided_at > (select changed_after from watermark)

    union

    select feedback_id from existing
    where source_updated_at is null

    {% if enrichment_version %}
    union

    -- the run reads another enrichment version than the one an item's row holds (either way)
    select feedback_id from existing
    where enrichment_version is not null
        and enrichment_version <> '{{ dbt.escape_single_quotes(enrichment_version | string) }}'

    union

    -- an enrichment at that version for an item whose row shows none
    select all_enrichments.feedback_id from all_enrichments
    left join existing
        on all_enrichments.feedback_id = existing.feedback_id
    where existing.enrichment_version is null
    {% endif %}

    {% if rich_version %}
    union

    select feedback_id from existing
    where rich_version is not null
        and rich_version <> '{{ dbt.escape_single_quotes(rich_version | string) }}'

    union

    -- an insight of the item's current enrichment version that its row does not show yet
    select all_insights.feedback_id from all_insights
    inner join existing
        on all_insights.feedback_id = existing.feedback_id
        and all_insights.enrichment_version = existing.enrichment_version
    where existing.rich_version is null
    {% endif %}

),

rebuilt_feedback_ids as (

    {% if replaces_whole_days -%}
    -- a partition (day) is replaced whole: every item of a day that holds a changed item is rebuilt
    select feedback_id from all_feedback
    where cast(created_at as date) in (
        select cast(created_at as date) from all_feedback
        where feedback_id in (select feedback_id from changed_feedback_ids)
    )
    {%- else -%}
    select feedback_id from changed_feedback_ids
    {%- endif %}

),

{% endif %}

feedback as (

    select * from all_feedback
    {% if is_incremental() -%}
    where feedback_id in (select feedback_id from rebuilt_feedback_ids)
    {%- endif %}

),

enrichments as (

    select * from all_enrichments
    {% if is_incremental() -%}
    where feedback_id in (select feedback_id from rebuilt_feedback_ids)
    {%- endif %}

),

ranked_enrichments as (

    select
        *,
        -- one enrichment per item: with `enrichment_version` set there is only one; without it, the latest
        row_number() over (
            partition by feedback_id
            order by enriched_at desc, enrichment_version desc
        ) as recency_rank

    from enrichments

),

current_enrichments as (

    select * from ranked_enrichments
    where recency_rank = 1

),

insights as (

    select * from all_insights
    {% if is_incremental() -%}
    where feedback_id in (select feedback_id from rebuilt_feedback_ids)
    {%- endif %}

),

ranked_insights as (

    select
        *,
        row_number() over (
            partition by feedback_id, enrichment_version
            order by rich_enriched_at desc, rich_version desc
        ) as recency_rank

    from insights

),

current_insights as (

    select * from ranked_insights
    where recency_rank = 1

),

decisions as (

    select * from all_decisions
    {% if is_incremental() -%}
    where feedback_id in (select feedback_id from rebuilt_feedback_ids)
    {%- endif %}

),

ranked_decisions as (

    select
        *,
        -- a reviewer's label is about the text: the latest decision stands whatever version it reviewed
        row_number() over (
            partition by feedback_id
            order by decided_at desc, decision_id desc
        ) as recency_rank

    from decisions

),

latest_decisions as (

    select * from ranked_decisions
    where recency_rank = 1

),

joined as (

    select
        feedback.feedback_id,
        feedback.source_record_id,
        feedback.channel,
        feedback.feedback_text,
        feedback.title,
        feedback.locale,
        feedback.product_area,
        feedback.customer_id,
        feedback.customer_tier,
        feedback.severity,
        feedback.rating,
        feedback.url,
        feedback.created_at,
        cast(feedback.created_at as date) as created_date,
        {{ dbt.date_trunc('hour', 'feedback.created_at') }} as created_hour,
        feedback.text_hash,
        feedback.bronze_row_id,
        feedback.source_file,
        feedback.batch_id,
        feedback.ingested_at,
        current_enrichments.feedback_id is not null as is_enriched,
        -- current best labels: the reviewer's when the item was reviewed, else the model's
        coalesce(latest_decisions.category, current_enrichments.category) as category,
        coalesce(latest_decisions.sentiment_label, current_enrichments.sentiment_label) as sentiment_label,
        current_enrichments.sentiment_score,
        coalesce(latest_decisions.sentiment_label, current_enrichments.sentiment_label) = 'negative'
            as is_negative,
        coalesce(latest_decisions.urgency, current_enrichments.urgency) as urgency,
        current_enrichments.category as model_category,
        current_enrichments.sentiment_label as model_sentiment_label,
        current_enrichments.urgency as model_urgency,
        latest_decisions.decision_id is not null as is_reviewed,
        latest_decisions.category as reviewed_category,
        latest_decisions.sentiment_label as reviewed_sentiment_label,
        latest_decisions.urgency as reviewed_urgency,
        latest_decisions.reviewer as reviewed_by,
        latest_decisions.decided_at as reviewed_at,
        latest_decisions.enrichment_version as reviewed_enrichment_version,
        current_enrichments.confidence,
        current_enrichments.needs_review,
        current_enrichments.language,
        current_enrichments.redacted_text,
        current_enrichments.lane,
        current_enrichments.model_name,
        current_enrichments.model_version,
        current_enrichments.prompt_version,
        current_enrichments.taxonomy_version,
        current_enrichments.enrichment_version,
        current_enrichments.enriched_at,
        current_enrichments.enrichment_notes,
        -- model cost of the current enrichment (0 for local models): gold.rpt_kpis_daily's cost per 1,000 items
        current_enrichments.cost_usd,
        current_insights.feedback_id is not null as has_insight,
        current_insights.rich_version,
        current_insights.rich_enriched_at as insight_enriched_at,
        current_insights.rich_reasons,
        current_insights.summary,
        current_insights.entities,
        current_insights.root_cause,
        current_insights.next_action,
        -- the watermark of incremental builds: the latest write time of the item's current inputs
        greatest(
            feedback.ingested_at,
            coalesce(current_enrichments.enriched_at, feedback.ingested_at),
            coalesce(current_insights.rich_enriched_at, feedback.ingested_at),
            coalesce(latest_decisions.decided_at, feedback.ingested_at)
        ) as source_updated_at

    from feedback
    left join current_enrichments
        on feedback.feedback_id = current_enrichments.feedback_id
    left join current_insights
        on current_enrichments.feedback_id = current_insights.feedback_id
        and current_enrichments.enrichment_version = current_insights.enrichment_version
    left join latest_decisions
        on current_enrichments.feedback_id = latest_decisions.feedback_id

),

final as (

    select * from joined

)

select * from final
