"""Rows of ``enrichment.embeddings``: which analysis unit a vector belongs to, what text it was computed from,
and the Arrow table the enrichment runner and the index sync write.

A unit id is ``<feedback_id>:<index>``: unit 0 is the whole redacted message, units 1..n its claims
(``feedback_ops.search.units``). The local enricher embeds unit 0 while it classifies, so enrichment, the
index sync, the reviewed examples and the batch lane's reconciliation all name unit 0 the same way, here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from feedback_ops.embed.base import Embedder

MESSAGE_UNIT_INDEX = 0
"""The index of the unit that is the whole redacted message."""


def unit_id(feedback_id: str, index: int) -> str:
    """The id of unit ``index`` of a feedback message: ``<feedback_id>:<index>``."""
    return f"{feedback_id}:{index}"


def message_unit_id(feedback_id: str) -> str:
    """The id of the unit that is the whole redacted message (unit 0)."""
    return unit_id(feedback_id, MESSAGE_UNIT_INDEX)


def message_unit_id_sql(feedback_id_column: str) -> str:
    """SQL for the message unit's id of the row's ``feedback_id_column``, as ``message_unit_id`` spells it."""
    return f"{feedback_id_column} || ':{MESSAGE_UNIT_INDEX}'"


def is_message_unit(unit: str) -> bool:
    """Whether ``unit`` (a unit id) is the whole message rather than one of its claims."""
    return unit.endswith(f":{MESSAGE_UNIT_INDEX}")


def unit_text_hash(text: str) -> str:
    """sha256 of a unit's redacted text: what its vector was computed from."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embedding_rows(
    unit_ids: Sequence[str],
    feedback_ids: Sequence[str],
    text_hashes: Sequence[str],
    embedder: Embedder,
    vectors: Any,
    embedded_at: datetime,
) -> Any:
    """Rows of ``enrichment.embeddings`` as an Arrow table, the vectors straight from the float32 array.

    Building a Python list of floats per vector (and pandas object columns of them) cost more than the
    database write itself: ~1.4 s per 20,000 vectors, against ~0.2 s this way.
    """
    import numpy as np
    import pyarrow as pa

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    rows, dimensions = vectors.shape if vectors.ndim == 2 else (0, 0)
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * dimensions)
    return pa.table(
        {
            "unit_id": pa.array(list(unit_ids), pa.string()),
            "feedback_id": pa.array(list(feedback_ids), pa.string()),
            "text_hash": pa.array(list(text_hashes), pa.string()),
            "embedding_model": pa.array([embedder.model_name] * rows, pa.string()),
            "embedding_version": pa.array([embedder.version] * rows, pa.string()),
            "vector": pa.ListArray.from_arrays(offsets, pa.array(vectors.ravel(), pa.float32())),
            "embedded_at": pa.array([embedded_at] * rows, pa.timestamp("us")),
        }
    )
