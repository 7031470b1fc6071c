"""Grouping evidence into themes: cosine clustering of unit vectors and a readable label per cluster.

Shared by ``ask`` (evidence for a question grouped by cause) and emerging-theme detection (recent feedback the
taxonomy does not cover, grouped into candidate categories). Both need the same two things: units that say
the same thing land in one group, and each group gets a short label a person recognises. Labels are the
cluster's most distinctive words and phrases (class-based TF-IDF: frequent in this cluster, rare in the
others), so they come from the customers' own words, never from a model's imagination.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy

DEFAULT_DISTANCE = 0.55
"""Cosine distance under which average-linkage merges two groups. MiniLM puts paraphrases of one complaint
at distance 0.2-0.45 and different complaints about one product at 0.5-0.8."""
MAX_CLUSTERED = 4000
"""Average-linkage clustering holds an n x n distance matrix: callers cap n (most relevant / most recent)."""

_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]|\{\$[\d.,]+\}|\bX{2,}\b", re.IGNORECASE)
_EXTRA_STOP_WORDS = frozenset(
    "hi hello thanks thank pls please ve ll don didn doesn im just got "
    # the commonest function words of the other languages feedback arrives in (labels are words people read)
    "der die das dem den des ein eine einer und oder nicht mit mir mich ich es ist sind von zu auf im am "
    "le la les un une des et ou pas avec pour je est sur dans ce mon ma mes "
    "el los las una y o no con para por yo es en mi mis que del lo "
    "il lo gli di che non per con sono ho mio".split()
)


@dataclass(frozen=True)
class Cluster:
    """Members (indices into the clustered rows), most central first, and the cluster's label terms."""

    members: list[int]
    terms: list[str]

    @property
    def label(self) -> str:
        return " / ".join(self.terms[:3]) if self.terms else "(no distinctive words)"


def cluster_vectors(vectors: numpy.ndarray, distance: float = DEFAULT_DISTANCE) -> list[list[int]]:
    """Groups of row indices, largest first; within a group, rows closest to its centroid first.

    Deterministic: average-linkage agglomerative clustering on cosine distance, ties broken by index.
    """
    count = len(vectors)
    if count == 0:
        return []
    if count > MAX_CLUSTERED:
        raise ValueError(f"{count} rows to cluster; cap them at {MAX_CLUSTERED} (most relevant first)")
    if count == 1:
        return [[0]]
    from sklearn.cluster import AgglomerativeClustering

    unit = _normalised(vectors)
    labels = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=distance
    ).fit_predict(unit)
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    ordered = []
    for members in groups.values():
        centroid = unit[members].mean(axis=0)
        closeness = unit[members] @ centroid
        ordered.append([m for _, m in sorted(zip(-closeness, members, strict=True))])
    return sorted(ordered, key=lambda m: (-len(m), m[0]))


def _normalised(vectors: numpy.ndarray) -> numpy.ndarray:
    array = numpy.asarray(vectors, dtype=numpy.float32)
    norms = numpy.linalg.norm(array, axis=1, keepdims=True)
    return array / numpy.where(norms == 0, 1.0, norms)


def distinctive_terms(groups: Sequence[Sequence[str]], top: int = 5) -> list[list[str]]:
    """The ``top`` most distinctive words / two-word phrases of each group of texts (class-based TF-IDF).

    Placeholders left by redaction (``[EMAIL]``, ``XXXX``) and greetings are never terms.
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    texts = [_PLACEHOLDER.sub(" ", text) for group in groups for text in group]
    owner = numpy.repeat(numpy.arange(len(groups)), [len(group) for group in groups])
    if not any(text.strip() for text in texts):
        return [[] for _ in groups]
    vectorizer = CountVectorizer(
        stop_words=sorted(ENGLISH_STOP_WORDS | _EXTRA_STOP_WORDS),
        ngram_range=(1, 2),
        token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z'-]+\b",
        lowercase=True,
    )
    try:
        per_text = vectorizer.fit_transform(texts).tocsr()
    except ValueError:  # only stop words
        return [[] for _ in groups]
    vocabulary = vectorizer.get_feature_names_out()
    membership = numpy.zeros((len(groups), len(texts)), dtype=numpy.float32)
    membership[owner, numpy.arange(len(texts))] = 1.0
    counts = numpy.asarray(per_text.T.dot(membership.T).T, dtype=float)
    texts_with_term = numpy.asarray((per_text > 0).astype(numpy.float32).T.dot(membership.T).T)
    term_frequency = counts / numpy.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    average_words = counts.sum() / max(len(groups), 1)
    idf = numpy.log1p(average_words / numpy.maximum(counts.sum(axis=0), 1.0))
    # A phrase says more than its words ("loyalty points" over "points"): phrases get a bonus, and a word
    # already inside a picked phrase is not picked again (below).
    phrase_bonus = numpy.where(numpy.char.find(vocabulary.astype(str), " ") >= 0, 1.5, 1.0)
    scores = term_frequency * idf * phrase_bonus
    result = []
    for row, group, group_support in zip(scores, groups, texts_with_term, strict=True):
        # A term must appear in at least two texts of a group of several, so one odd sentence cannot name it.
        minimum = 2 if len(group) >= 3 else 1
        support = group_support >= minimum
        order = numpy.lexsort((vocabulary, -numpy.where(support, row, 0.0)))
        picked: list[str] = []
        for index in order:
            if row[index] <= 0 or not support[index] or len(picked) >= top:
                break
            term = str(vocabulary[index])
            if any(term in other or other in term for other in picked):
                continue
            picked.append(term)
        result.append(picked)
    return result


def cluster_texts(
    vectors: numpy.ndarray, texts: Sequence[str], distance: float = DEFAULT_DISTANCE
) -> list[Cluster]:
    """Cluster rows by vector and label each cluster with its distinctive terms."""
    groups = cluster_vectors(vectors, distance)
    terms = distinctive_terms([[texts[i] for i in members] for members in groups])
    return [Cluster(members, group_terms) for members, group_terms in zip(groups, terms, strict=True)]
