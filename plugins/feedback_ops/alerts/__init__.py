"""Alerts: spikes from gold become incidents, delivered through a ``Notifier`` (the local JSONL log by default)."""
