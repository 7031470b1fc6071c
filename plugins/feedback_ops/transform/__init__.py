"""Transformations: running the dbt project that builds silver and gold."""
