"""Emerging themes: what customers started saying that the taxonomy has no good place for.

A taxonomy is written from what customers said last quarter. When a new problem appears (a new app version
breaks a screen, a partner changes a policy), its feedback lands in ``other`` or in a category the classifier
is unsure about, spread thin, and no category-level spike fires. This step looks exactly there:

1. **Candidates**: analysis units (claims, or the whole message when it is one claim) from the last
   ``2 x window_days`` whose message was classified ``other`` or with confidence under
   ``LOW_CONFIDENCE``, for the current enrichment version.
2. **Clusters**: grouped by meaning (``feedback_ops.search.themes``: cosine clustering of their vectors, labels
   from the customers' own distinctive words).
3. **Growth**: each cluster's distinct feedback items in the recent window versus the window before. A theme
   is *emerging* when it has at least ``min_items`` recent items and grew by at least ``min_growth`` x
   (``(recent + 1) / (previous + 1)``, so a brand-new theme of 6 items scores 7).
4. **Stored** in ``enrichment.emerging_themes`` (one row per theme per data-time window end, re-runs replace
   their own rows) with representative redacted quotes and the ids behind them, for the run summary, the
   insights report and the taxonomy owners, who decide whether it deserves a category.

Windows end at the newest feedback (data time), never at the wall clock, so a re-run decides the same.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from feedback_ops.config import Settings, get_settings
from feedback_ops.warehouse.base import Warehouse

LOW_CONFIDENCE = 0.5
WINDOW_DAYS = 7
MIN_ITEMS = 5
MIN_GROWTH = 1.5
QUOTES = 3

CANDIDATES_SQL = """
    with window_feedback as (
        select feedback_id, created_at
        from silver.int_feedback_deduplicated
        where created_at > ? and created_at <= ?
    ),
    current_units as (
        select
            u.*,
            w.created_at as feedback_created_at,
            count(*) over (partition by u.feedback_id) as units_of_message
        from window_feedback as w
        join enrichment.feedback_units as u on u.feedback_id = w.feedback_id
        join enrichment.feedback_enrichment as e
            on e.feedback_id = u.feedback_id and e.enrichment_version = ? and e.text_hash = u.source_text_hash
    )
    select
        u.unit_id, u.feedback_id, u.text, u.feedback_created_at as created_at, e.category, e.confidence,
        v.vector
    from current_units as u
    join enrichment.feedback_enrichment as e
        on e.feedback_id = u.feedback_id and e.enrichment_version = ?
    join enrichment.embeddings as v
        on v.unit_id = u.unit_id and v.embedding_version = ? and v.text_hash = u.text_hash
    where (u.unit_index > 0 or u.units_of_message = 1)
      and (e.category = 'other' or e.confidence < ?)
    order by u.feedback_created_at desc, u.unit_id
    limit ?
"""
"""The window's messages are picked first: counting each message's units (a message of one unit is its own
candidate) over every unit of history before the date filter made the step grow with history, not with the
``2 x window_days`` it looks at."""


@dataclass
class EmergingTheme:
    """A candidate for the taxonomy: a growing cluster of feedback it covers badly."""

    theme_id: str
    label: str
    top_terms: list[str]
    unit_count: int
    feedback_count: int
    recent_count: int
    previous_count: int
    growth: float
    categories: dict[str, int]
    representative_quotes: list[dict[str, str]]
    feedback_ids: list[str]


@dataclass
class EmergingThemes:
    """The result of one detection: the windows, how many candidates were clustered, and the themes."""

    window_end: datetime | None
    window_days: int
    candidates: int
    clusters: int
    themes: list[EmergingTheme] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        data = asdict(self)
        data["window_end"] = None if self.window_end is None else self.window_end.isoformat()
        return data


def _theme_id(terms: list[str], label: str) -> str:
    return hashlib.sha256(("|".join(sorted(terms)) or label).encode()).hexdigest()[:12]


def find_emerging_themes(
    warehouse: Warehouse,
    enrichment_version: str,
    embedding_version: str,
    *,
    window_end: datetime | None = None,
    window_days: int = WINDOW_DAYS,
    min_items: int = MIN_ITEMS,
    min_growth: float = MIN_GROWTH,
) -> EmergingThemes:
    """Cluster the recent badly-covered units and return the growing clusters (largest growth x size first)."""
    import numpy

    from feedback_ops.search.themes import MAX_CLUSTERED, cluster_texts

    if window_end is None:
        # data time, never ahead of the latest load
        window_end = warehouse.scalar(
            "select least(max(created_at), max(ingested_at)) from silver.int_feedback_deduplicated"
        )
    if window_end is None:
        return EmergingThemes(None, window_days, 0, 0)
    recent_start = window_end - timedelta(days=window_days)
    frame = warehouse.query_df(
        CANDIDATES_SQL,
        [
            window_end - timedelta(days=2 * window_days),
            window_end,
            enrichment_version,
            enrichment_version,
            embedding_version,
            LOW_CONFIDENCE,
            MAX_CLUSTERED,
        ],
    )
    result = EmergingThemes(window_end, window_days, len(frame), 0)
    if frame.empty:
        return result
    vectors = numpy.asarray(frame["vector"].tolist(), dtype=numpy.float32)
    clusters = cluster_texts(vectors, frame["text"].tolist())
    result.clusters = len(clusters)
    for cluster in clusters:
        members = frame.iloc[cluster.members]
        recent = members[members["created_at"] > recent_start]
        recent_items = recent["feedback_id"].nunique()
        previous_items = members[members["created_at"] <= recent_start]["feedback_id"].nunique()
        growth = (recent_items + 1) / (previous_items + 1)
        if recent_items < min_items or growth < min_growth:
            continue
        distinct = recent.drop_duplicates("text").head(QUOTES)
        quotes = [
            {"feedback_id": row.feedback_id, "unit_id": row.unit_id, "text": row.text[:300]}
            for row in distinct.itertuples(index=False)
        ]
        result.themes.append(
            EmergingTheme(
                theme_id=_theme_id(cluster.terms, cluster.label),
                label=cluster.label,
                top_terms=cluster.terms,
                unit_count=len(members),
                feedback_count=int(members["feedback_id"].nunique()),
                recent_count=int(recent_items),
                previous_count=int(previous_items),
                growth=round(growth, 2),
                categories={str(k): int(v) for k, v in members["category"].value_counts().items()},
                representative_quotes=quotes,
                feedback_ids=sorted(members["feedback_id"].unique().tolist()),
            )
        )
    result.themes.sort(key=lambda t: (-t.recent_count * t.growth, t.label))
    return result


def store_emerging_themes(
    warehouse: Warehouse, found: EmergingThemes, enrichment_version: str, embedding_version: str
) -> int:
    """Replace the stored themes of ``found.window_end`` with ``found.themes`` (idempotent re-runs)."""
    import pandas as pd

    if found.window_end is None:
        return 0
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "window_end": found.window_end,
            "theme_id": theme.theme_id,
            "label": theme.label,
            "top_terms": json.dumps(theme.top_terms),
            "unit_count": theme.unit_count,
            "feedback_count": theme.feedback_count,
            "recent_count": theme.recent_count,
            "previous_count": theme.previous_count,
            "growth": theme.growth,
            "categories": json.dumps(theme.categories, sort_keys=True),
            "representative_quotes": json.dumps(theme.representative_quotes),
            "feedback_ids": json.dumps(theme.feedback_ids),
            "enrichment_version": enrichment_version,
            "embedding_version": embedding_version,
            "detected_at": now,
        }
        for theme in found.themes
    ]
    with warehouse.transaction():
        warehouse.execute("delete from enrichment.emerging_themes where window_end = ?", [found.window_end])
        if rows:
            warehouse.append("enrichment.emerging_themes", pd.DataFrame(rows))
    return len(rows)


def detect_emerging_themes(settings: Settings | None = None, *, persist: bool = True) -> EmergingThemes:
    """Find the emerging themes in the configured warehouse (and store them unless ``persist`` is False)."""
    from feedback_ops.embed.factory import make_embedder
    from feedback_ops.enrich.versions import current_enrichment_version
    from feedback_ops.warehouse import open_warehouse

    settings = settings or get_settings()
    enrichment_version = current_enrichment_version(settings)
    embedding_version = make_embedder(settings).version
    with open_warehouse(settings) as warehouse:
        found = find_emerging_themes(warehouse, enrichment_version, embedding_version)
        if persist:
            store_emerging_themes(warehouse, found, enrichment_version, embedding_version)
    return found


def render_emerging(found: EmergingThemes, limit: int = 5) -> str:
    """A few lines per theme for the run summary and the terminal."""
    if found.window_end is None:
        return "Emerging themes: no feedback yet."
    head = (
        f"Emerging themes (last {found.window_days} days to {found.window_end:%Y-%m-%d %H:%M}; "
        f"{found.candidates} badly covered units in {found.clusters} clusters): {len(found.themes)} growing"
    )
    lines = [head]
    for theme in found.themes[:limit]:
        lines.append(
            f"  - {theme.label}: {theme.recent_count} items this window vs {theme.previous_count} before "
            f"(x{theme.growth:g}), now in {', '.join(theme.categories)}"
        )
        lines += [f'      "{q["text"][:140]}" [{q["feedback_id"]}]' for q in theme.representative_quotes[:2]]
    return "\n".join(lines)
