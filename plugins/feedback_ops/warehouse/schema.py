"""DDL of the tables Python writes (bronze, enrichment and review decisions, alerts, the quality gates' ledger).
dbt owns silver and gold.

Kept in one place so the local warehouse, tests and docs agree; see ``docs/data-model.md``.
"""

from functools import lru_cache

EMBEDDING_DIMENSIONS = 384
"""Length of the local embedder's vectors. ``enrichment.embeddings.vector`` is a variable-length list, so a
cloud embedder of another length (``FEEDBACK_OPS_EMBEDDING_DIMENSIONS``) stores its vectors too; each index
holds one length, that of the embedding version it serves."""

DDL: tuple[str, ...] = (
    "create schema if not exists bronze",
    "create schema if not exists enrichment",
    "create schema if not exists alerts",
    "create schema if not exists quality",
    """
    create table if not exists bronze.file_manifest (
        file_checksum varchar primary key,
        source_file varchar not null,
        source_format varchar not null,
        size_bytes bigint not null,
        record_count integer not null,
        batch_id varchar not null,
        ingested_at timestamp not null,
        source_records integer,
        parsed_records integer,
        encoding varchar,
        compression varchar
    )
    """,
    """
    create table if not exists bronze.feedback_raw (
        bronze_row_id varchar primary key,
        batch_id varchar not null,
        source_file varchar not null,
        file_checksum varchar not null,
        source_format varchar not null,
        line_number integer not null,
        payload varchar,
        parse_error varchar,
        ingested_at timestamp not null
    )
    """,
    # Parked files (feedback_ops.ingest.parked_files): a landing file that broke its contract, set aside so
    # every other file flows on. One row per file ever parked, with its current status (parked, released,
    # dropped); the rows of a parked or dropped file stay in bronze and go no further than silver's staging.
    """
    create table if not exists bronze.parked_files (
        file_checksum varchar primary key,
        source_file varchar not null,
        status varchar not null,
        reason varchar not null,
        quarantined_rows integer not null,
        total_rows integer not null,
        times_parked integer not null,
        parked_at timestamp not null,
        released_at timestamp,
        dropped_at timestamp,
        actor varchar not null
    )
    """,
    """
    create table if not exists enrichment.feedback_enrichment (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        text_hash varchar not null,
        redacted_text varchar,
        redaction_counts varchar,
        language varchar,
        language_confidence double,
        category varchar,
        sentiment_label varchar,
        sentiment_score double,
        urgency varchar,
        confidence double,
        needs_review boolean,
        lane varchar,
        model_name varchar,
        model_version varchar,
        prompt_version varchar,
        taxonomy_version varchar,
        tokens_in integer,
        tokens_out integer,
        cost_usd double,
        latency_ms double,
        enriched_at timestamp,
        enrichment_notes varchar,
        primary key (feedback_id, enrichment_version)
    )
    """,
    # Added after the first release: warehouses created before it get the column here (same position, last).
    "alter table enrichment.feedback_enrichment add column if not exists enrichment_notes varchar",
    """
    create table if not exists enrichment.feedback_insights (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        rich_version varchar not null,
        rich_reasons varchar not null,
        summary varchar not null,
        entities varchar not null,
        root_cause varchar,
        next_action varchar not null,
        model_name varchar not null,
        tokens_in integer,
        tokens_out integer,
        cost_usd double,
        latency_ms double,
        enriched_at timestamp,
        primary key (feedback_id, enrichment_version, rich_version)
    )
    """,
    """
    create table if not exists enrichment.feedback_entities (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        rich_version varchar not null,
        entity_type varchar not null,
        entity_value varchar not null,
        primary key (feedback_id, enrichment_version, rich_version, entity_type, entity_value)
    )
    """,
    """
    create table if not exists enrichment.enrichment_deferred (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        reason varchar not null,
        detail varchar,
        deferred_at timestamp not null,
        primary key (feedback_id, enrichment_version)
    )
    """,
    # Lanes (feedback_ops.enrich.claims): a lane claims a batch of records before enriching it, so lanes running
    # at the same time never enrich a record twice; the claim is deleted with the batch's write, and one left
    # by a killed lane is taken over once its lease expires.
    """
    create table if not exists enrichment.enrichment_claims (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        lane varchar not null,
        claim_id varchar not null,
        claimed_at timestamp not null,
        lease_expires_at timestamp not null,
        primary key (feedback_id, enrichment_version)
    )
    """,
    """
    create table if not exists enrichment.enrichment_runs (
        run_id varchar primary key,
        enrichment_version varchar not null,
        started_at timestamp not null,
        records integer not null,
        category_counts varchar not null,
        sentiment_counts varchar not null,
        urgency_counts varchar not null,
        drift_distance double,
        drift_flagged boolean not null
    )
    """,
    """
    create table if not exists enrichment.enrichment_quarantine (
        feedback_id varchar not null,
        enrichment_version varchar not null,
        text_hash varchar not null,
        reason varchar not null,
        attempts integer not null,
        last_error varchar,
        quarantined_at timestamp not null,
        primary key (feedback_id, enrichment_version)
    )
    """,
    # Records a stage set aside (feedback_ops.enrich.failures): the rich pass, units, embedding, index sync and
    # urgent alerts write here one row per item whose processing failed, and skip it at the same stage version
    # and text; the cheap pass keeps its own enrichment_quarantine. ``item_id`` is the feedback id, or the
    # unit id for the embedding and index stages.
    """
    create table if not exists enrichment.record_failures (
        stage varchar not null,
        item_id varchar not null,
        stage_version varchar not null,
        feedback_id varchar not null,
        text_hash varchar,
        reason varchar not null,
        error varchar,
        failed_at timestamp not null,
        primary key (stage, item_id, stage_version)
    )
    """,
    # Analysis units (feedback_ops.search.units): the whole redacted message (unit_index 0) and its claims
    # (sentences / speaker turns), cut from the redacted text of the current enrichment (source_text_hash).
    """
    create table if not exists enrichment.feedback_units (
        unit_id varchar primary key,
        feedback_id varchar not null,
        unit_index integer not null,
        unit_kind varchar not null,
        speaker varchar,
        text varchar not null,
        text_hash varchar not null,
        char_start integer not null,
        char_end integer not null,
        source_text_hash varchar not null,
        splitter_version varchar not null,
        created_at timestamp not null
    )
    """,
    # Emerging themes (feedback_ops.search.emerging): clusters of recent units the taxonomy covers badly,
    # one row per cluster per detection run (data time ``window_end``).
    """
    create table if not exists enrichment.emerging_themes (
        window_end timestamp not null,
        theme_id varchar not null,
        label varchar not null,
        top_terms varchar not null,
        unit_count integer not null,
        feedback_count integer not null,
        recent_count integer not null,
        previous_count integer not null,
        growth double,
        categories varchar not null,
        representative_quotes varchar not null,
        feedback_ids varchar not null,
        enrichment_version varchar not null,
        embedding_version varchar not null,
        detected_at timestamp not null,
        primary key (window_end, theme_id)
    )
    """,
    """
    create table if not exists enrichment.embeddings (
        unit_id varchar not null,
        feedback_id varchar not null,
        text_hash varchar not null,
        embedding_model varchar not null,
        embedding_version varchar not null,
        vector float[],
        embedded_at timestamp,
        primary key (unit_id, embedding_version)
    )
    """,
    # Human review (feedback_ops.review): one row per reviewer decision, never updated; gold applies the
    # latest decision per item as an override of the model's labels, which stay in feedback_enrichment.
    """
    create table if not exists enrichment.review_decisions (
        decision_id varchar primary key,
        feedback_id varchar not null,
        enrichment_version varchar not null,
        text_hash varchar,
        reviewer varchar not null,
        decided_at timestamp not null,
        action varchar not null,
        category varchar not null,
        sentiment_label varchar not null,
        urgency varchar not null,
        note varchar,
        model_category varchar,
        model_sentiment_label varchar,
        model_urgency varchar,
        model_confidence double,
        model_name varchar,
        model_version varchar,
        prompt_version varchar,
        taxonomy_version varchar
    )
    """,
    """
    create table if not exists alerts.alert_incidents (
        alert_id varchar primary key,
        category varchar not null,
        product_area varchar,
        first_day date not null,
        last_day date not null,
        volume integer not null,
        revision varchar not null,
        last_event varchar not null,
        update_count integer not null,
        opened_at timestamp not null,
        sent_at timestamp not null,
        payload varchar not null,
        -- theme_spike (customer-theme alerts) or pipeline_health (operators' alerts); added after the first
        -- release, so rows of older warehouses read null: theme_spike
        kind varchar default 'theme_spike'
    )
    """,
    """
    create table if not exists alerts.alert_deliveries (
        alert_id varchar not null,
        revision varchar not null,
        destination varchar not null,
        destination_type varchar not null,
        status varchar not null,
        attempts integer not null,
        runs integer not null,
        http_status integer,
        last_error varchar,
        first_attempt_at timestamp not null,
        last_attempt_at timestamp not null,
        primary key (alert_id, revision, destination)
    )
    """,
    # Alert lifecycle (feedback_ops.alerts.lifecycle): one row per acknowledgement or resolution, appended,
    # never updated (the audit trail); an alert's state is its first event of each kind.
    """
    create table if not exists alerts.alert_events (
        event_id varchar primary key,
        alert_id varchar not null,
        event varchar not null,
        actor varchar not null,
        note varchar,
        occurred_at timestamp not null,
        source varchar not null
    )
    """,
    # Quality gates (feedback_ops.quality.validated_rows): which rows of a gated table have passed its suite in
    # their current content, so the next gate validates only new or changed rows. One row per (suite, row key);
    # written only after a gate passed.
    """
    create table if not exists quality.validated_rows (
        suite varchar not null,
        suite_fingerprint varchar not null,
        row_key varchar not null,
        row_hash varchar not null,
        validated_at timestamp not null,
        primary key (suite, row_key)
    )
    """,
    # The feedback items each alert told someone about, with the data time of the first message naming them
    # (gold's rpt_kpis_daily: share of urgent items alerted within one hour).
    """
    create table if not exists alerts.alerted_items (
        alert_id varchar not null,
        feedback_id varchar not null,
        alerted_at timestamp not null,
        primary key (alert_id, feedback_id)
    )
    """,
)


@lru_cache(maxsize=1)
def declared_columns() -> dict[str, list[tuple[str, str]]]:
    """``schema.table -> [(column, type)]`` as the DDL declares them, read from an in-memory database."""
    import duckdb

    with duckdb.connect(":memory:") as scratch:
        for statement in DDL:
            scratch.execute(statement)
        rows = scratch.execute(
            "select table_schema || '.' || table_name, column_name, data_type from information_schema.columns "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    declared: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        declared.setdefault(table, []).append((column, data_type))
    return declared
