"""Vectors move between numpy, Arrow and the warehouse without a Python float per element, unchanged."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pytest

from feedback_ops.embed.rows import embedding_rows
from feedback_ops.search.sync import _vector_rows
from feedback_ops.warehouse import DuckDBWarehouse


class TinyEmbedder:
    model_name = "tiny"
    version = "tiny@1"


def test_embedding_rows_round_trip_through_the_warehouse(tmp_path) -> None:
    vectors = np.random.default_rng(3).standard_normal((5, 384)).astype(np.float32)
    rows = embedding_rows(
        [f"f{i}:0" for i in range(5)], [f"f{i}" for i in range(5)], ["h"] * 5, TinyEmbedder, vectors,
        datetime(2026, 11, 1),
    )  # fmt: skip
    warehouse = DuckDBWarehouse(tmp_path / "w.duckdb")
    warehouse.ensure_schema()
    assert warehouse.upsert("enrichment.embeddings", rows, keys=["unit_id", "embedding_version"]) == 5
    again = warehouse.upsert("enrichment.embeddings", rows, keys=["unit_id", "embedding_version"])
    stored = warehouse.connection.execute(
        "select vector from enrichment.embeddings order by unit_id"
    ).fetch_arrow_table()
    assert again == 5 and stored.num_rows == 5  # the keyed upsert replaced, did not duplicate
    np.testing.assert_array_equal(_vector_rows(stored.column("vector")), vectors)
    assert embedding_rows([], [], [], TinyEmbedder, np.zeros((0, 384)), datetime(2026, 11, 1)).num_rows == 0
    warehouse.close()


def test_vector_rows_refuses_missing_or_ragged_vectors() -> None:
    with pytest.raises(ValueError, match="one length"):
        _vector_rows(pa.chunked_array([pa.array([[1.0, 2.0], [3.0]], pa.list_(pa.float32()))]))
    with pytest.raises(ValueError, match="present"):
        _vector_rows(pa.chunked_array([pa.array([[1.0, 2.0], None], pa.list_(pa.float32()))]))
    assert _vector_rows(pa.chunked_array([], pa.list_(pa.float32()))).shape[0] == 0
