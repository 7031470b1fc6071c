"""Reports a person reads: the run summary (and, later, the insights report)."""
