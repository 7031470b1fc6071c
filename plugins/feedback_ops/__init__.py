"""Feedback Ops: turn multi-channel customer feedback into structured, searchable, routed intelligence.

The package holds every stage of the pipeline; Airflow DAGs in ``dags/`` and the ``feedback-ops`` command
call into it. See ``docs/data-model.md`` for the tables each stage writes.
"""

__version__ = "0.1.0"
