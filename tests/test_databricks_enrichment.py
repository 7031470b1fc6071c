"""The Python stages on the Databricks runtime: enrichment, estimate, claims and urgent alerts through the connector.

Silver is built by dbt locally (dbt-databricks builds the same model in the cloud) and copied into the fake
connection's database (tests/fakes/databricks_sql.py); then the stages run on a ``DatabricksWarehouse`` with
the Azure OpenAI backend on its loopback fake. The fake parses every statement as Databricks SQL and refuses
the DuckDB-only spellings a SQL warehouse rejects (``insert ... on conflict``, ``distinct on``, ``unnest``,
temporary tables, ``returning``), so a DuckDB-only statement creeping back into a stage fails here; and the
results are compared with the same stages on the local DuckDB warehouse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlglot
from sqlglot import exp

from fakes.azure_openai_server import FakeAzureOpenAI, Fault
from fakes.databricks_sql import DatabricksSQLError, FakeDatabricksConnection
from feedback_ops.config import LanguageModelSettings, Settings
from feedback_ops.enrich.backends import make_enricher
from feedback_ops.enrich.claims import ClaimBook, live_claims
from feedback_ops.enrich.estimate import estimate_pending
from feedback_ops.enrich.runner import enrich_pending
from feedback_ops.warehouse import open_warehouse
from feedback_ops.warehouse.databricks_warehouse import DatabricksWarehouse

SILVER = "silver.int_feedback_deduplicated"
COMPARED = ["feedback_id", "category", "sentiment_label", "urgency", "redacted_text", "lane", "needs_review"]


@pytest.fixture
def fake() -> Iterator[FakeAzureOpenAI]:
    with FakeAzureOpenAI() as server:
        yield server


def cloud(settings: Settings, fake: FakeAzureOpenAI) -> Settings:
    llm = LanguageModelSettings(
        endpoint=fake.endpoint,
        api_key=fake.api_key,
        api_version="2024-10-21",
        timeout_s=2.0,
        backoff_base_s=0.01,
        backoff_max_s=0.05,
        concurrency=4,
    )
    return dataclasses.replace(settings, enrichment_backend="azure_openai", llm=llm)


@pytest.fixture
def built_silver(settings: Settings) -> Settings:
    from feedback_ops.ingest.bronze import load_landing_to_bronze
    from feedback_ops.transform.dbt_runner import run_dbt

    with open_warehouse(settings) as warehouse:
        load_landing_to_bronze(warehouse, settings)
    run_dbt("build", settings, select="tag:silver")
    return settings


def databricks_with_silver(settings: Settings) -> tuple[DatabricksWarehouse, FakeDatabricksConnection]:
    """A Databricks warehouse (fake connection) holding the Python-owned tables and a copy of local silver."""
    with open_warehouse(settings) as local:
        silver = local.connection.execute(f"select * from {SILVER}").fetch_arrow_table()
    connection = FakeDatabricksConnection()
    connection.duckdb.execute("create schema silver")
    connection.duckdb.register("built_silver", silver)
    connection.duckdb.execute(f"create table {SILVER} as select * from built_silver")
    connection.duckdb.unregister("built_silver")
    warehouse = DatabricksWarehouse(connection)
    warehouse.ensure_schema()
    connection.statements.clear()
    return warehouse, connection


def test_enrichment_on_databricks_writes_what_it_writes_on_duckdb(built_silver, fake):
    settings = cloud(built_silver, fake)
    fake.inject(Fault("bad_label", times=99, match="pricing went up"))  # one record ends in quarantine
    databricks, connection = databricks_with_silver(settings)

    estimate = estimate_pending(databricks, make_enricher(settings))
    first = enrich_pending(databricks, settings, lane="micro_batch")
    calls = len(fake.requests)
    second = enrich_pending(databricks, settings, lane="micro_batch")
    calls_after_second = len(fake.requests)
    with open_warehouse(settings) as local:
        on_duckdb = enrich_pending(local, settings, lane="micro_batch")
        local_rows = local.query_df(f"select {', '.join(COMPARED)} from enrichment.feedback_enrichment")

    assert (estimate.pending, estimate.to_send) == (10, 10)
    assert (first.pending, first.enriched, first.quarantined, first.deferred) == (10, 9, 1, 0)
    assert (second.pending, second.enriched) == (0, 0) and calls_after_second == calls
    assert (on_duckdb.pending, on_duckdb.enriched, on_duckdb.quarantined) == (10, 9, 1)
    rows = databricks.query_df(f"select {', '.join(COMPARED)} from enrichment.feedback_enrichment")
    by_id = lambda frame: frame.sort_values("feedback_id").reset_index(drop=True)  # noqa: E731
    assert by_id(rows).equals(by_id(local_rows))
    quarantined = databricks.query_df("select feedback_id, reason from enrichment.enrichment_quarantine")
    assert quarantined["reason"].tolist() == ["invalid_output"]
    assert databricks.query_df("select * from enrichment.enrichment_claims").empty  # every claim given back

    verbs = {type(sqlglot.parse_one(s.sql, read="databricks")).__name__ for s in connection.writes()}
    assert "Merge" in verbs and "Delete" in verbs  # claims and results are merges; claims released by delete


def test_a_resent_text_is_reused_on_databricks_without_a_call(built_silver, fake):
    settings = cloud(built_silver, fake)
    databricks, connection = databricks_with_silver(settings)
    enrich_pending(databricks, settings)
    calls = len(fake.requests)
    original = databricks.query_df(
        "select feedback_id, cost_usd from enrichment.feedback_enrichment order by feedback_id limit 1"
    ).iloc[0]
    # the same text arrives again under another id (silver as dbt would have built it)
    connection.duckdb.execute(
        f"insert into {SILVER} select * replace ('resent-1' as feedback_id) from {SILVER} where feedback_id = ?",
        [original["feedback_id"]],
    )
    connection.statements.clear()

    third = enrich_pending(databricks, settings)

    assert (third.pending, third.reused_by_text_hash, third.enriched) == (1, 1, 0)
    assert len(fake.requests) == calls
    copy = databricks.query_df(
        "select cost_usd, tokens_in, category from enrichment.feedback_enrichment where feedback_id = 'resent-1'"
    )
    assert copy[["cost_usd", "tokens_in"]].values.tolist() == [[0.0, 0]] and original["cost_usd"] > 0
    reuse = next(s for s in connection.writes() if "text_hash" in s.sql)
    tree = sqlglot.parse_one(reuse.sql, read="databricks")
    assert isinstance(tree, exp.Merge) and any(tree.find_all(exp.Qualify))


def test_lanes_claim_on_databricks_and_take_over_expired_leases(built_silver):
    databricks, connection = databricks_with_silver(built_silver)
    ids = databricks.query_df(f"select feedback_id from {SILVER} order by feedback_id limit 4")["feedback_id"]
    a, b, c, d = ids.tolist()
    now = datetime(2026, 11, 28, 12, 0)
    urgent = ClaimBook(databricks, "v1", "urgent", lease_s=60)
    batch = ClaimBook(databricks, "v1", "batch", lease_s=60)

    assert urgent.claim([a, b, c], now=now) == [a, b, c]
    assert batch.claim([b, c, d, d], now=now + timedelta(seconds=10)) == [d]  # a live lease stays put
    assert batch.claim([b], now=now + timedelta(seconds=61)) == [b]  # an expired one changes hands
    assert urgent.held([a, b, c]) == [a, c]
    written = urgent.write_held([a, b, c], lambda held: None)
    assert written == {a, c}
    holders = live_claims(databricks, "v1", now=now + timedelta(seconds=30))
    assert dict(zip(holders["feedback_id"], holders["lane"], strict=True)) == {b: "batch", d: "batch"}
    claim_statements = [s for s in connection.writes() if "enrichment_claims as claim" in s.sql]
    assert claim_statements and all(isinstance(s.parameters, list) for s in claim_statements)
    assert [b, c, d, d] in [s.parameters[5] for s in claim_statements]  # the ids travel as one array


def test_urgent_items_are_alerted_once_on_databricks(built_silver, fake):
    from feedback_ops.lanes.urgent_alerts import raise_urgent_item_alerts

    settings = cloud(built_silver, fake)
    databricks, connection = databricks_with_silver(settings)
    enrich_pending(databricks, settings, lane="urgent")
    urgent = databricks.query_df(
        "select feedback_id from enrichment.feedback_enrichment where urgency in ('high', 'critical')"
    )["feedback_id"].tolist()
    version = make_enricher(settings).enrichment_version
    as_of = datetime(2026, 11, 28, 12, 0)

    first = raise_urgent_item_alerts(
        databricks, settings, [*urgent, "not-urgent"], version, as_of, sleep=lambda _: None
    )
    again = raise_urgent_item_alerts(databricks, settings, urgent, version, as_of, sleep=lambda _: None)

    assert urgent and first.urgent_items == len(urgent) and len(first.alerts) == len(urgent)
    assert (again.urgent_items, again.already_alerted, again.alerts) == (len(urgent), len(urgent), [])
    alerted = databricks.query_df("select feedback_id from alerts.alerted_items order by feedback_id")
    assert alerted["feedback_id"].tolist() == sorted(urgent)


def test_embeddings_and_the_azure_index_sync_from_databricks(built_silver, fake):
    from fakes.azure_search_server import FakeAzureSearch
    from feedback_ops.config import AzureSearchSettings, EmbeddingSettings
    from feedback_ops.embed.azure_openai import AzureOpenAIEmbedder
    from feedback_ops.search.azure_search import AzureSearchIndex
    from feedback_ops.search.sync import sync_index

    settings = dataclasses.replace(
        cloud(built_silver, fake),
        embedding_backend="azure_openai",
        embedding=EmbeddingSettings(dimensions=64, backoff_base_s=0.01, backoff_max_s=0.05),
    )
    databricks, connection = databricks_with_silver(settings)
    first_enrichment = enrich_pending(databricks, settings)
    embedder = AzureOpenAIEmbedder(settings)
    with FakeAzureSearch() as search:
        index = AzureSearchIndex(
            AzureSearchSettings(endpoint=search.endpoint, api_key=search.api_key, index_name="feedback"), 64
        )
        try:
            first = sync_index(databricks, index, settings, embedder, first_enrichment.enrichment_version)
            again = sync_index(databricks, index, settings, embedder, first_enrichment.enrichment_version)
        finally:
            index.close()

    stored = databricks.query_df(
        "select count(*) as vectors, min(size(vector)) as shortest, max(size(vector)) as longest "
        "from enrichment.embeddings"
    ).iloc[0]
    units = databricks.scalar("select count(*) from enrichment.feedback_units")
    assert first.messages_split == first_enrichment.enriched and units >= first.messages_split
    assert first.embedded == units == stored["vectors"] == first.index_count == first.expected_count
    assert (stored["shortest"], stored["longest"]) == (64, 64)
    assert (again.messages_split, again.embedded, again.upserted, again.deleted) == (0, 0, 0, 0)
    vector_writes = [s for s in connection.writes() if "enrichment.embeddings" in s.sql]
    assert vector_writes and all(s.sql.startswith("merge into") for s in vector_writes)


def test_the_fake_refuses_duckdb_only_sql():
    cursor = FakeDatabricksConnection().cursor()
    cursor.execute("create table t (k string)")
    for statement in (
        "insert into t select 'a' on conflict do nothing",
        "select distinct on (k) k from t",
        "create or replace temp table p as select 1 as k",
        "select k from t where k in (select unnest(?))",
    ):
        with pytest.raises(DatabricksSQLError, match="not Databricks SQL"):
            cursor.execute(statement, [["a"]] if "?" in statement else None)
