"""Memory that does not grow with the data: DuckDB's buffer pool is bounded, the embed step streams its backlog.

Issue 9 asks for a peak of at most 4 GB at 100k records and flat with volume. Two things grew with the data:
each local DuckDB database (warehouse, embedded index) cached every block up to 80 % of the machine's RAM, and
``embed_missing`` read the text of every unit to embed into one DataFrame. Peak memory itself is measured by
``bench/bench_pipeline.py`` (never asserted here); these tests check the mechanisms.
"""

from __future__ import annotations

import dataclasses

import duckdb
import numpy as np
import pandas as pd
import pytest

from feedback_ops.config import DUCKDB_MEMORY_LIMIT, Settings
from feedback_ops.embed.local import LocalEmbedder
from feedback_ops.search import sync
from feedback_ops.search.embedded import open_active_index
from feedback_ops.search.sync import _vector_rows, build_missing_units, embed_missing
from feedback_ops.warehouse import open_warehouse
from feedback_ops.warehouse.duckdb_warehouse import limit_duckdb

ENRICHMENT_VERSION = "test-enrichment@1"


def test_the_duckdb_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT", "300MiB")
    monkeypatch.setenv("FEEDBACK_OPS_DUCKDB_THREADS", "1")
    configured = Settings.from_env()
    assert (configured.duckdb_memory_limit, configured.duckdb_threads) == ("300MiB", 1)
    monkeypatch.delenv("FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT")
    monkeypatch.delenv("FEEDBACK_OPS_DUCKDB_THREADS")
    assert (Settings.from_env().duckdb_memory_limit, Settings.from_env().duckdb_threads) == (
        DUCKDB_MEMORY_LIMIT,
        0,
    )


@pytest.mark.parametrize("value", ["lots", "12", "1.5 XB", "1GB; drop table x"])
def test_a_malformed_memory_limit_is_refused_by_its_variable_name(monkeypatch, value) -> None:
    monkeypatch.setenv("FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT", value)
    with pytest.raises(ValueError, match="FEEDBACK_OPS_DUCKDB_MEMORY_LIMIT must be a size"):
        Settings.from_env()


def test_negative_threads_are_refused(tmp_path) -> None:
    connection = duckdb.connect(str(tmp_path / "x.duckdb"))
    with pytest.raises(ValueError, match="threads"):
        limit_duckdb(connection, None, -1)
    connection.close()


def test_the_warehouse_and_the_index_run_under_the_configured_limit(settings: Settings) -> None:
    limited = dataclasses.replace(settings, duckdb_memory_limit="300MiB", duckdb_threads=1)
    with open_warehouse(limited) as warehouse:
        assert warehouse.scalar("select current_setting('memory_limit')") == "300.0 MiB"
        assert warehouse.scalar("select current_setting('threads')") == 1
        # Set after connecting, not as connect(config=...): another connection to the same file in this
        # process (dbt's, a test's) with DuckDB's default configuration is still accepted, and shares the limit.
        other = duckdb.connect(str(limited.warehouse_path))
        assert other.execute("select current_setting('memory_limit')").fetchone()[0] == "300.0 MiB"
        other.close()
    index = open_active_index(limited, dimensions=8)
    try:
        found = index.connection.execute(
            "select current_setting('memory_limit'), current_setting('threads')"
        ).fetchone()
        assert found == ("300.0 MiB", 1)
    finally:
        index.close()


def test_a_sort_larger_than_the_limit_spills_instead_of_failing(tmp_path) -> None:
    """What the bound means for the index sync: its sorted join of every vector goes to disk, not to RAM."""
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    limit_duckdb(connection, "96MiB", 1)
    connection.execute(
        "create table vectors as select 'u' || lpad(i::varchar, 7, '0') as unit_id, repeat('word ', 30) as text, "
        "list_transform(range(96), x -> (x * i % 97)::float)::float[96] as vector from range(400000) t(i)"
    )  # 154 MB of vectors and 60 MB of text, sorted below under a 96 MiB limit
    reader = connection.execute(
        "select unit_id, text, vector from vectors order by unit_id desc"
    ).to_arrow_reader(4096)
    rows, first = 0, None
    for batch in reader:
        first = first or batch.column(0)[0].as_py()
        rows += batch.num_rows
    assert (rows, first) == (400_000, "u0399999")
    assert (
        connection.execute("select current_setting('temp_directory')").fetchone()[0].endswith("w.duckdb.tmp")
    )
    connection.close()


class RecordingEmbedder:
    """The real local embedder, recording the batches ``embed_missing`` hands it."""

    def __init__(self) -> None:
        self.inner = LocalEmbedder()
        self.model_name, self.version, self.dimensions = (
            self.inner.model_name,
            self.inner.version,
            self.inner.dimensions,
        )
        self.batches: list[list[str]] = []

    def embed(self, texts):
        self.batches.append(list(texts))
        return self.inner.embed(texts)


def _warehouse_with_messages(settings: Settings, messages: dict[str, str]) -> None:
    """Enriched messages (as the enrich stage leaves them) and their silver rows, without running the models."""
    with open_warehouse(settings) as warehouse:
        warehouse.execute("create schema if not exists silver")
        warehouse.execute(
            "create table silver.int_feedback_deduplicated (feedback_id varchar, channel varchar)"
        )
        warehouse.append(
            "silver.int_feedback_deduplicated",
            pd.DataFrame({"feedback_id": list(messages), "channel": ["review"] * len(messages)}),
        )
        warehouse.append(
            "enrichment.feedback_enrichment",
            pd.DataFrame(
                {
                    "feedback_id": list(messages),
                    "enrichment_version": ENRICHMENT_VERSION,
                    "text_hash": [f"hash-{i}" for i in range(len(messages))],
                    "redacted_text": list(messages.values()),
                }
            ),
        )
        assert build_missing_units(warehouse, settings, ENRICHMENT_VERSION) == len(messages)


def test_embed_missing_streams_its_backlog_in_id_ordered_batches(settings: Settings, monkeypatch) -> None:
    messages = {
        f"fb-{i:03d}": f"The checkout page froze on order {i}. Support answered quickly. Refund took {i} days."
        for i in range(9)
    }
    _warehouse_with_messages(settings, messages)
    monkeypatch.setattr(sync, "WRITE_BATCH_ROWS", 5)
    small = dataclasses.replace(settings, batch_size=5)
    embedder = RecordingEmbedder()
    with open_warehouse(small) as warehouse:
        units = warehouse.query_df("select unit_id, text from enrichment.feedback_units order by unit_id")
        assert embed_missing(warehouse, small, embedder, ENRICHMENT_VERSION) == len(units)
        stored = warehouse.connection.execute(
            "select unit_id, vector from enrichment.embeddings order by unit_id"
        ).fetch_arrow_table()
        nothing_left = embed_missing(warehouse, small, embedder, ENRICHMENT_VERSION)
    assert len(units) > 10  # several batches: whole messages and their sentences
    # One batch of at most 5 texts at a time, every unit once, in unit-id order: the texts of the backlog
    # are never all in memory together.
    assert [len(batch) for batch in embedder.batches] == [
        min(5, len(units) - start) for start in range(0, len(units), 5)
    ]
    assert [text for batch in embedder.batches for text in batch] == units["text"].tolist()
    assert stored.column("unit_id").to_pylist() == units["unit_id"].tolist()
    # The stored vectors are those of the same texts in the same batches.
    expected = np.vstack([embedder.inner.embed(batch) for batch in embedder.batches])
    np.testing.assert_allclose(_vector_rows(stored.column("vector")), expected, atol=1e-6)
    assert nothing_left == 0


def test_embed_missing_skips_a_unit_removed_while_it_ran(settings: Settings) -> None:
    """Texts are read a batch at a time, after the ids were listed: a unit gone by then is not embedded
    (its message was re-split), and nothing fails."""
    _warehouse_with_messages(settings, {"fb-1": "Great app.", "fb-2": "Crashes on start. Please fix it."})
    embedder = RecordingEmbedder()
    with open_warehouse(settings) as warehouse:
        original = warehouse.query_df
        listed: list[bool] = []

        def query_then_remove(sql, params=None):
            found = original(sql, params)
            if not listed:  # the id listing: remove a unit before its text is read
                listed.append(True)
                warehouse.execute("delete from enrichment.feedback_units where unit_id = 'fb-1:0'")
            return found

        warehouse.query_df = query_then_remove
        embed_missing(warehouse, settings, embedder, ENRICHMENT_VERSION)
        embedded = [row[0] for row in warehouse.connection.execute(
            "select unit_id from enrichment.embeddings order by unit_id"
        ).fetchall()]  # fmt: skip
    assert "fb-1:0" not in embedded and embedded and all(unit.startswith("fb-2") for unit in embedded)
