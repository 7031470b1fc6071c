"""Semantic retrieval: the ``SearchIndex`` protocol, the embedded local index, and index synchronisation."""
