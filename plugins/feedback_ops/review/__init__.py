"""Human review: the queue of items a person should check, their decisions, and what the decisions teach.

``decisions`` records accept / correct decisions in ``enrichment.review_decisions`` (never touching model
output), ``queue`` reads the gold review queue, ``examples`` turns reviewed items into nearest-neighbour
examples for the local enricher, ``golden_export`` writes reviewed items as golden-set candidates, and ``web``
serves a small review page.
"""
