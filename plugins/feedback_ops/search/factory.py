"""``make_search_index``: the search index backend the settings select.

``settings.search_backend`` (``FEEDBACK_OPS_SEARCH_BACKEND``) picks it: ``embedded`` (the active DuckDB file
under ``settings.index_dir``, the one ``ACTIVE.json`` names, the default) or ``azure_ai_search``
(``AzureSearchIndex`` on ``settings.azure_search``). Both offer the ``SearchIndex`` protocol plus
``refresh``, ``close``, ``newest_created_at`` and ``facet_values``.
"""

from __future__ import annotations

from typing import Any

from feedback_ops.config import SEARCH_BACKENDS, Settings


def make_search_index(settings: Settings, dimensions: int, backend: str | None = None) -> Any:
    """The index of ``backend`` (default: ``settings.search_backend``) for vectors of ``dimensions``.

    The embedded index opens (or creates) the active file; Azure AI Search creates or updates its index.

    Raises:
        ValueError: an unknown backend name, or missing Azure settings.
    """
    name = backend or settings.search_backend
    if name not in SEARCH_BACKENDS:
        raise ValueError(f"unknown search backend {name!r}; expected one of {SEARCH_BACKENDS}")
    if name == "embedded":
        from feedback_ops.search.embedded import open_active_index

        return open_active_index(settings, dimensions)
    from feedback_ops.search.azure_search import AzureSearchIndex

    return AzureSearchIndex(settings.azure_search, dimensions)
