"""Synthetic feedback: data the project writes itself, for demos, benchmarks and tests; no pipeline stage uses it.

Modules: ``load_generator`` (``LoadGenerator``: multi-channel export files at any volume, seeded, from the
shipped sample data's texts; ``feedback-ops generate``) and ``sample_text`` (project-written comments, the
checkout incident, fake PII and markup that ``tools/build_sample_data.py`` mixes into the sample data).
"""
