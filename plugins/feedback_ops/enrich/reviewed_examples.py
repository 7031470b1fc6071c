"""Reviewed items as nearest-neighbour examples for the local enricher.

The vectors of reviewed items (``enrichment.embeddings``, unit ``<feedback_id>:0``) with their latest
decision's labels form a small example set. When a record being enriched has a cosine similarity of at least
``MIN_COSINE`` to a reviewed item, the local enricher takes the reviewer's labels instead of its own, sets the
confidence to that similarity, and says so in ``enrichment_notes``.

Versioning: the examples are not part of the enrichment version. They apply to records enriched from now on
(new records); items enriched before keep their enrichment row, and gold already shows a reviewed item's
labels through its override. This keeps a correction from re-enriching the whole history.
A new record whose text is identical to an earlier one (same ``text_hash``) reuses that record's
enrichment (the runner's cache) before any example is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from feedback_ops.embed.rows import message_unit_id_sql
from feedback_ops.warehouse.base import Warehouse

if TYPE_CHECKING:
    import numpy

MIN_COSINE = 0.9
"""MiniLM cosine of near-duplicates (a word added, changed or dropped) is 0.93-0.99; different complaints
about the same theme mostly score 0.5-0.85."""

EXAMPLES_SQL = f"""
    with latest as (
        select * from enrichment.review_decisions
        qualify row_number() over (
            partition by feedback_id order by decided_at desc, decision_id desc
        ) = 1
    )
    select
        d.feedback_id, d.decision_id, d.category, d.sentiment_label, d.urgency, e.vector
    from latest as d
    join enrichment.embeddings as e
        on e.unit_id = {message_unit_id_sql("d.feedback_id")} and e.embedding_version = ?
    order by d.feedback_id
"""


@dataclass(frozen=True)
class ReviewedMatch:
    """The reviewed example nearest to a record, and how near it is."""

    feedback_id: str
    decision_id: str
    category: str
    sentiment_label: str
    urgency: str
    cosine: float

    @property
    def note(self) -> str:
        """What ``enrichment_notes`` says about the labels' origin."""
        return (
            f"labels from reviewed example {self.feedback_id} "
            f"(decision {self.decision_id}, cosine {self.cosine:.3f})"
        )


@dataclass(frozen=True)
class ReviewedExamples:
    """Unit-norm vectors of reviewed items (row i) and their reviewed labels."""

    vectors: numpy.ndarray
    rows: tuple[dict[str, str], ...]
    min_cosine: float = MIN_COSINE

    def __len__(self) -> int:
        return len(self.rows)

    def nearest(self, embeddings: numpy.ndarray) -> list[ReviewedMatch | None]:
        """For each (unit-norm) embedding, the nearest reviewed example within ``min_cosine``, else None."""
        import numpy

        if not self.rows:
            return [None] * len(embeddings)
        similarities = numpy.asarray(embeddings, dtype=numpy.float32) @ self.vectors.T
        best = similarities.argmax(axis=1)
        matches: list[ReviewedMatch | None] = []
        for row_index, example_index in enumerate(best):
            cosine = float(similarities[row_index, example_index])
            row = self.rows[int(example_index)]
            matches.append(ReviewedMatch(**row, cosine=cosine) if cosine >= self.min_cosine else None)
        return matches


def load_reviewed_examples(
    warehouse: Warehouse, embedding_version: str, min_cosine: float = MIN_COSINE
) -> ReviewedExamples:
    """The reviewed items that have a vector at ``embedding_version``, with their latest decision's labels."""
    import numpy

    frame = warehouse.query_df(EXAMPLES_SQL, [embedding_version])
    if frame.empty:
        return ReviewedExamples(numpy.zeros((0, 1), dtype=numpy.float32), (), min_cosine)
    matrix = numpy.stack([numpy.asarray(v, dtype=numpy.float32) for v in frame["vector"]])
    matrix /= numpy.linalg.norm(matrix, axis=1, keepdims=True).clip(min=1e-12)
    keys = ("feedback_id", "decision_id", "category", "sentiment_label", "urgency")
    rows = tuple({k: str(r[k]) for k in keys} for r in frame[list(keys)].to_dict("records"))
    return ReviewedExamples(matrix, rows, min_cosine)
