"""Metadata filters of the embedded index: a SQL where clause, and the mask of vector keys a filter allows.

The filterable columns (all but ``feedback_id``) are held as integer codes indexed by key, loaded once per
generation, so a filter becomes a numpy mask (~10 ms at 1M, where fetching the matching keys from DuckDB takes
~50-100 ms); a ``feedback_id`` filter (one message's units: few) is asked of DuckDB.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from feedback_ops.search.embedded_store import FILTERABLE, DocumentStore, KeyMask

TIME_FILTERS = ("created_after", "created_before")
"""Filters on ``created_at``: at or after / before the given time."""


def where_clause(filters: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """``(SQL condition, its parameters)`` selecting the documents ``filters`` allows ("true" for none).

    A value is matched by equality, a list / tuple / set by membership; an unknown name is a ValueError."""
    clauses, params = [], []
    for name, value in (filters or {}).items():
        if name == "created_after":
            clauses.append("created_at >= ?")
            params.append(value)
        elif name == "created_before":
            clauses.append("created_at < ?")
            params.append(value)
        elif name in FILTERABLE and isinstance(value, list | tuple | set):
            clauses.append(f"{name} in (select unnest(?))")
            params.append(sorted(str(v) for v in value))
        elif name in FILTERABLE:
            clauses.append(f"{name} = ?")
            params.append(str(value))
        else:
            raise ValueError(f"unknown filter {name!r}; filterable: {FILTERABLE + TIME_FILTERS}")
    return (" and ".join(clauses) or "true"), params


class KeyFilter:
    """The keys a filter allows in a ``DocumentStore``, from in-memory metadata columns or from DuckDB."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self._columns: dict[str, Any] | None = None
        self._columns_generation = -1

    def mask(
        self, filters: dict[str, Any] | None, where: str, params: list[Any], state: dict[str, int]
    ) -> KeyMask | None:
        """The keys ``filters`` allows (``where`` / ``params``: its ``where_clause``) at the ``index_state``
        counters ``state``; None without a filter."""
        if not filters:
            return None
        if "feedback_id" in filters:  # one message's units: few, fetched from DuckDB
            return self.sql_mask(where, params, state["next_key"])
        return self.memory_mask(filters, state["generation"], state["next_key"])

    def metadata_columns(self, generation: int, next_key: int) -> dict[str, Any]:
        """The filterable columns (but ``feedback_id``) as arrays indexed by key, loaded once per generation:
        ``{name: (codes, {value: code})}`` (code -1: null or no such unit), ``created_at`` as datetime64."""
        if self._columns is None or self._columns_generation != generation:
            import pandas as pd

            names = [name for name in FILTERABLE if name != "feedback_id"]
            frame = self.store.connection.execute(
                f"select vector_key, created_at, {', '.join(names)} from documents"
            ).df()
            keys = frame["vector_key"].to_numpy(dtype=np.int64)
            columns: dict[str, Any] = {}
            created = np.full(next_key + 1, np.datetime64("NaT"), dtype="datetime64[us]")
            created[keys] = frame["created_at"].to_numpy(dtype="datetime64[us]")
            columns["created_at"] = created
            for name in names:
                codes, values = pd.factorize(frame[name], use_na_sentinel=True)
                by_key = np.full(next_key + 1, -1, dtype=np.int32)
                by_key[keys] = codes
                columns[name] = (by_key, {str(value): code for code, value in enumerate(values)})
            self._columns, self._columns_generation = columns, generation
        return self._columns

    def memory_mask(self, filters: dict[str, Any], generation: int, next_key: int) -> KeyMask:
        """``(mask over keys, count)`` of the units the filter allows, from the in-memory columns: what
        ``where_clause`` selects, without scanning the table (1M units: ~2 ms instead of ~50)."""
        columns = self.metadata_columns(generation, next_key)
        mask = columns["channel"][0] >= -1  # every key
        for name, value in filters.items():
            if name in TIME_FILTERS:
                bound = np.datetime64(self.store.one("select ?::timestamp", [value])[0], "us")
                created = columns["created_at"]
                mask &= (created >= bound) if name == "created_after" else (created < bound)
                continue
            codes, lookup = columns[name]
            wanted = value if isinstance(value, list | tuple | set) else [value]
            found = [lookup[str(v)] for v in wanted if str(v) in lookup]
            mask &= np.isin(codes, found) if len(found) > 1 else codes == (found[0] if found else -2)
        return mask, int(mask.sum())

    def sql_mask(self, where: str, params: list[Any], next_key: int) -> KeyMask:
        """``(mask over keys, count)`` of the units ``where`` allows, asked of DuckDB. A wide filter fetches the
        (smaller) complement and inverts it: keys cost ~50 ns each to fetch, and half a million of them would be
        most of a query's time. Keys of replaced or deleted units may be left set: no ranking holds them."""
        allowed, total = self.store.one(
            f"select count(*) filter (where {where}), count(*) from documents", params
        )
        size = next_key + 1
        wide = allowed > total / 2
        keys = self.store.connection.execute(
            f"select vector_key from documents where not coalesce(({where}), false)"
            if wide
            else f"select vector_key from documents where {where}",
            params,
        ).fetchnumpy()["vector_key"]
        mask = np.full(size, wide, dtype=bool)
        mask[np.asarray(keys, dtype=np.int64)] = not wide
        return mask, int(allowed)
