"""Reports a person reads: the run summary, the insights report (HTML) and the daily / weekly summaries
(Markdown) for product and leadership."""
