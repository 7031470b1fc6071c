"""A real enricher that also records which records each lane sent to the model, for the lane tests.

It delegates everything to the wrapped backend (the real local models); it only counts, optionally calls
``on_batch`` first (to hold a batch while another lane runs, or to be killed mid-batch), and serializes model
calls with a lock when two lanes in one process share one backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class CountingEnricher:
    """Wraps an enricher; ``calls`` lists the ids of every batch sent to the model, in order."""

    def __init__(
        self,
        inner: Any,
        on_batch: Callable[[int, list[str]], None] | None = None,
        model_lock: threading.Lock | None = None,
    ) -> None:
        self.inner = inner
        self.on_batch = on_batch
        self.model_lock = model_lock or threading.Lock()
        self.calls: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def enrich_with_embeddings(self, items: Sequence[Any]) -> Any:
        ids = [item.feedback_id for item in items]
        self.calls.append(ids)
        if self.on_batch is not None:
            self.on_batch(len(self.calls), ids)
        with self.model_lock:
            return self.inner.enrich_with_embeddings(items)

    @property
    def sent_ids(self) -> list[str]:
        """Every id sent to the model, with repeats."""
        return [i for batch in self.calls for i in batch]
