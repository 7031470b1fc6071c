"""Embeddings: one vector per analysis unit of redacted text, behind the ``Embedder`` protocol.

Backends: ``local.LocalEmbedder`` (all-MiniLM-L6-v2, in process, offline); a cloud embedder implements the
same protocol. Import backends from their modules so that importing this package stays cheap.
"""

from feedback_ops.embed.base import Embedder

__all__ = ["Embedder"]
