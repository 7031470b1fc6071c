"""The feedback taxonomy (``include/taxonomy.yaml``): loading, validation and its stamped version.

The taxonomy is both the label set every enrichment backend must use and the training data of the local
category classifier (descriptions + examples). Its version is the declared ``version`` plus a short hash of
the file's bytes, so any edit changes the version stamped on enrichment rows.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from feedback_ops.config import TAXONOMY_CATEGORIES

Urgency = Literal["low", "medium", "high", "critical"]
URGENCY_LEVELS: tuple[Urgency, ...] = ("low", "medium", "high", "critical")
"""Urgency levels, lowest first (their order is used to take the maximum of several rules)."""

REQUIRED_CATEGORIES = frozenset(TAXONOMY_CATEGORIES)
"""Categories the architecture contract requires; ``other`` is also the classifier's fallback."""


class Owner(BaseModel):
    """The team that acts on a category and where it is reached."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    team: str = Field(min_length=1)
    contact: str = Field(min_length=1)


class Category(BaseModel):
    """One taxonomy category."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    description: str = Field(min_length=10)
    examples: tuple[str, ...] = Field(min_length=4, max_length=8)
    urgency_cues: tuple[str, ...] = ()
    base_urgency: Urgency = "medium"
    incident: bool = False
    owner: Owner

    @field_validator("urgency_cues")
    @classmethod
    def _cues_lower_and_unique(cls, cues: tuple[str, ...]) -> tuple[str, ...]:
        lowered = tuple(cue.strip().lower() for cue in cues)
        if len(set(lowered)) != len(lowered) or "" in lowered:
            raise ValueError("urgency cues must be non-empty and unique (case-insensitively)")
        return lowered


class Taxonomy(BaseModel):
    """A loaded, validated taxonomy with its stamped version (``<declared>+<hash8>``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    declared_version: str = Field(min_length=1)
    content_hash: str
    categories: tuple[Category, ...]

    @field_validator("categories")
    @classmethod
    def _complete(cls, categories: tuple[Category, ...]) -> tuple[Category, ...]:
        ids = [category.id for category in categories]
        if len(set(ids)) != len(ids):
            raise ValueError("category ids must be unique")
        missing = REQUIRED_CATEGORIES - set(ids)
        if missing:
            raise ValueError(f"taxonomy lacks required categories: {sorted(missing)}")
        return categories

    @property
    def version(self) -> str:
        """The version stamped on enrichment rows: declared version + short content hash."""
        return f"{self.declared_version}+{self.content_hash[:8]}"

    @property
    def category_ids(self) -> frozenset[str]:
        """Every valid category id."""
        return frozenset(category.id for category in self.categories)

    def get(self, category_id: str) -> Category:
        """The category with this id (KeyError when unknown)."""
        for category in self.categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)


def parse_taxonomy(raw: bytes) -> Taxonomy:
    """Validate taxonomy YAML bytes (``version`` + ``categories`` mapping id -> fields).

    Raises:
        pydantic.ValidationError / ValueError: when the document breaks the contract.
    """
    document = yaml.safe_load(raw)
    if not isinstance(document, dict) or not isinstance(document.get("categories"), dict):
        raise ValueError("taxonomy must be a mapping with a 'categories' mapping")
    categories = [{"id": key, **(value or {})} for key, value in document["categories"].items()]
    return Taxonomy(
        declared_version=str(document.get("version", "")),
        content_hash=hashlib.sha256(raw).hexdigest(),
        categories=tuple(Category(**category) for category in categories),
    )


def load_taxonomy(path: Path) -> Taxonomy:
    """Load and validate the taxonomy file at ``path`` (cached per path and file content)."""
    return _parse_cached(Path(path).read_bytes())


@lru_cache(maxsize=8)
def _parse_cached(raw: bytes) -> Taxonomy:
    return parse_taxonomy(raw)
