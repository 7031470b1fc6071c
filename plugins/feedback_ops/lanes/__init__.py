"""The three lanes on one codebase: claims (each record enriched once per version), the urgent lane's
trigger and run, the batch lane's reconciliation and provider batch jobs."""
