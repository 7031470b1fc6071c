"""Embeddings: one vector per analysis unit of redacted text, behind the ``Embedder`` protocol.

Backends: ``local.LocalEmbedder`` (all-MiniLM-L6-v2, in process, offline) and ``azure_openai.AzureOpenAIEmbedder``
(an Azure OpenAI embeddings deployment or an OpenAI-compatible endpoint); ``factory.make_embedder(settings)``
returns the configured one. Import backends from their modules so that importing this package stays cheap.
"""

from feedback_ops.embed.base import Embedder

__all__ = ["Embedder"]
